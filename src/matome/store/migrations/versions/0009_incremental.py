"""work_queue, snapshots, name_facts, tag_parts, tag_totals: a run's cost follows the new input

Existing stores queue every item for every stage once, so the first run after
the upgrade checks each against its stored output (a no-op where nothing
changed) and later runs read only what arrived since.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _outside(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.Text(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "work_queue",
        sa.Column("stage", sa.String(16), primary_key=True),
        sa.Column("item", _outside(200), primary_key=True),
    )
    op.create_table(
        "snapshots",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("saved_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "name_facts",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("a", _outside(200), primary_key=True),
        sa.Column("b", _outside(200), primary_key=True),
    )
    for name in ("tag_parts", "tag_totals"):
        op.create_table(
            name,
            *([sa.Column("story_id", sa.String(64), primary_key=True)] if name == "tag_parts" else []),
            sa.Column("key", _outside(200), primary_key=True),
            sa.Column("field", sa.String(1), primary_key=True),
            sa.Column("value", _outside(200), primary_key=True),
            sa.Column("n", sa.Integer, nullable=False),
        )
    op.create_index("ix_story_tags_tag", "story_tags", ["tag_id"])
    op.execute("INSERT INTO work_queue (stage, item) SELECT 'extract', CAST(id AS TEXT) FROM raw_docs")
    for stage in ("analyze", "dedupe", "cluster"):
        op.execute(f"INSERT INTO work_queue (stage, item) SELECT '{stage}', id FROM articles")
    for stage in ("tags", "write"):
        op.execute(f"INSERT INTO work_queue (stage, item) SELECT '{stage}', id FROM stories")


def downgrade() -> None:
    # the keys the queues were filled under go with the queues
    op.execute("DELETE FROM stage_state WHERE stage LIKE 'key:%'")
    op.drop_index("ix_story_tags_tag", "story_tags")
    op.drop_table("tag_totals")
    op.drop_table("tag_parts")
    op.drop_table("name_facts")
    op.drop_table("snapshots")
    op.drop_table("work_queue")
