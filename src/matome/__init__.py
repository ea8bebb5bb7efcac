"""matome: Japanese-first news curation engine.

ingest → extract → dedupe → cluster → tags → write → verify → publish.
The whole flow is in :mod:`matome.pipeline`; each stage is its own module.
"""

__version__ = "0.1.0"
