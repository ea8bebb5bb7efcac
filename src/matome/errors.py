"""The one error tree of matome.

::

    MatomeError                      anything matome raises on purpose (exit 1)
    ├── UsageError                   bad command line or config the user must fix (exit 2)
    │   └── ConfigError              matome.toml is unreadable or has a bad value
    ├── InputError                   a whole input the user named is unusable (exit 2)
    ├── RecordError                  one record is bad: reported, counted, skipped
    │   ├── DecodeError              bytes that no candidate charset decodes
    │   ├── ExtractError             no article text could be extracted
    │   ├── FeedError                a feed that cannot be parsed at all
    │   └── FetchError               a URL that could not or may not be fetched
    └── StoreError                   the database cannot be opened or migrated

A ``RecordError`` never stops a batch: the stage that meets it stores the
reason (see ``store.record_reject``) and goes on with the next record.
"""

from __future__ import annotations


class MatomeError(Exception):
    """Base of every error matome raises on purpose."""

    exit_code = 1


class UsageError(MatomeError):
    exit_code = 2


class ConfigError(UsageError):
    pass


class InputError(MatomeError):
    exit_code = 2


class RecordError(MatomeError):
    """One bad record: carries where it came from so the report can say so."""

    def __init__(self, reason: str, *, origin: str = "", location: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.origin = origin
        self.location = location

    def __str__(self) -> str:
        where = self.origin + (f":{self.location}" if self.location else "")
        return f"{where}: {self.reason}" if where else self.reason


class DecodeError(RecordError):
    pass


class ExtractError(RecordError):
    pass


class FeedError(RecordError):
    pass


class FetchError(RecordError):
    """Refused (robots.txt, SSRF guard, scheme) or failed (HTTP status, caps, timeouts)."""


class StoreError(MatomeError):
    pass
