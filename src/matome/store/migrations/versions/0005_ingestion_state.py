"""ingestion state: raw versions, source/link identity, fetch validators, source health, reactions

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raw_docs") as batch:
        batch.add_column(sa.Column("source", sa.String(200)))
        batch.add_column(sa.Column("link", sa.Text))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
        batch.create_index("ix_raw_docs_source_link", ["source", "link"])
    op.create_table(
        "raw_versions",
        sa.Column("raw_id", sa.Integer, sa.ForeignKey("raw_docs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("hints", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("ingested_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "fetch_cache",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("fetched_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "source_health",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_poll", sa.DateTime),
        sa.Column("next_poll", sa.DateTime),
        sa.Column("last_success", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime),
        sa.Column("error_streak", sa.Integer, nullable=False, server_default="0"),
        sa.Column("polls", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_new", sa.Integer, nullable=False, server_default="0"),
        sa.Column("note", sa.Text),
    )
    op.create_table(
        "reactions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("thread_article", sa.String(200),
                  sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("posted", sa.String(40)),
        sa.Column("poster_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("replies", sa.JSON, nullable=False),
        sa.Column("discussed", sa.JSON, nullable=False),
        sa.UniqueConstraint("thread_article", "number", name="uq_reactions_post"),
    )


def downgrade() -> None:
    op.drop_table("reactions")
    op.drop_table("source_health")
    op.drop_table("fetch_cache")
    op.drop_table("raw_versions")
    with op.batch_alter_table("raw_docs") as batch:
        batch.drop_index("ix_raw_docs_source_link")
        batch.drop_column("version")
        batch.drop_column("link")
        batch.drop_column("source")
