"""snapshots on PostgreSQL: the data stored uncompressed, read a piece at a time

A snapshot (the clusterer's window: 45 MB at 100k stored articles) is read back a megabyte
at a time with ``substring`` (``Store.snapshot_to``): of a value stored uncompressed
(``EXTERNAL``) that reads only the TOAST chunks each piece covers, where a compressed
one is decompressed from its start for every piece. A pickle compresses little anyway.
Values already stored keep their compression until written again (every ``process``
that assigns a report). SQLite: nothing changes.

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE snapshots ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE snapshots ALTER COLUMN data SET STORAGE EXTENDED")
