"""work_queue.leased_by, work_queue.lease_until: several workers on one database

A worker takes queue items with ``SELECT … FOR UPDATE SKIP LOCKED`` and marks
them with its name and a lease expiry, renewed as it stores each result; a
killed worker's lease lapses and another worker takes its items. Existing rows
are unleased: anyone's.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_queue") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_queue") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("leased_by")
