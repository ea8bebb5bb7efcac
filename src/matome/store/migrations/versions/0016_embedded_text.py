"""analyses.embedded: the digest of the text each stored embedding is of

A new version of the analyze stage analyses every report again; one whose
input and embedding text are unchanged keeps its stored vector instead of
being embedded again (``matome.language.reuse``). Existing rows have none:
their text is read from their analysis, for the versions whose text is known.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("embedded", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("embedded")
