"""rejects.stage_tag, rejects.input_hash: a failed item is set aside until its input changes

A report that makes a stage fail (a page dated year 1 that overflowed the
date arithmetic) is recorded as a reject with the stage's version and a hash
of the input it failed on; the stage skips it while both are the same, so a
re-run neither retries it forever nor loses it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rejects") as batch:
        batch.add_column(sa.Column("stage_tag", sa.String(40), nullable=True))
        batch.add_column(sa.Column("input_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rejects") as batch:
        batch.drop_column("input_hash")
        batch.drop_column("stage_tag")
