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
    │   ├── FetchError               a URL that could not or may not be fetched
    │   │   ├── Refused              the SSRF guard refused the address (never retried)
    │   │   └── TransientFetchError  refused, reset or dropped before any answer: tried again
    │   └── LLMError                 the model server gave no usable answer for one story
    │       └── BudgetSpent          the run's token budget is spent: no more requests
    ├── IdClash                      a second raw document gives an article id already taken
    └── StoreError                   the database cannot be opened or migrated

A ``RecordError`` never stops a batch: the stage that meets it stores the
reason (see ``store.record_reject``) and goes on with the next record. Nor
does any other exception one article raises in a stage (``pipeline.isolated``
records it as that article's reject); only a ``StoreError`` or a
``UsageError`` stops a run.
"""

from __future__ import annotations

import ipaddress


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


class SearchCutOff(MatomeError):
    """A search ran past its time limit and was stopped: it found nothing it can show, which
    is not the same as nothing matching (a reader is told to narrow it)."""


class Refused(FetchError):
    """The SSRF guard refused a connection: which host, which address, why."""

    def __init__(self, host: str, port: int, addr: str, why: str) -> None:
        self.host, self.port, self.addr, self.why = host, port, addr, why
        super().__init__(self.describe(""))

    def describe(self, via: str) -> str:
        who = f"[{self.host}]" if ":" in self.host else self.host
        who += f":{self.port}" if self.port not in (80, 443) else ""
        resolved = "" if _same_address(self.host, self.addr) else f", which resolves to {self.addr}"
        return f"refused: {via}{who}{resolved} ({self.why})"


def _same_address(host: str, addr: str) -> bool:
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(addr)
    except ValueError:
        return False


class TransientFetchError(FetchError):
    """The connection was refused, reset or dropped before any response: worth another try."""


class LLMError(RecordError):
    """The server could not give a usable answer for one story."""


class BudgetSpent(LLMError):
    """The run's token budget is spent: no more requests are made."""


class IdClash(MatomeError):
    """Another raw document already produced an article with this id (the pipeline records
    it as that document's reject; it never reaches the command line)."""

    def __init__(self, raw_id: int) -> None:
        super().__init__(raw_id)
        self.raw_id = raw_id
