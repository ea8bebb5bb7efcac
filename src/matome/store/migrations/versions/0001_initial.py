"""initial schema: raw input, articles, analyses, dedupe, stories, tags, written

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _article_fk() -> sa.Column:
    return sa.Column(
        "article_id", sa.String(200), sa.ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "raw_docs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(512), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("hints", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("ingested_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("raw_id", sa.Integer, sa.ForeignKey("raw_docs.id", ondelete="CASCADE"),
                  unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("published", sa.String(40)),
        sa.Column("published_utc", sa.DateTime),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_articles_published_utc", "articles", ["published_utc"])
    op.create_table(
        "rejects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("origin", "location", "stage", name="uq_rejects_where"),
    )
    op.create_table(
        "analyses",
        _article_fk(),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "dedupe",
        _article_fk(),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("minhash", sa.LargeBinary, nullable=False),
        sa.Column("duplicate_of", sa.String(200)),
        sa.Column("kind", sa.String(16)),
        sa.Column("similarity", sa.Float),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_dedupe_text_hash", "dedupe", ["text_hash"])
    op.create_table(
        "stories",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seed_article", sa.String(200), nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
    )
    op.create_table(
        "memberships",
        _article_fk(),
        sa.Column("story_id", sa.String(64), sa.ForeignKey("stories.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
    )
    op.create_index("ix_memberships_story_id", "memberships", ["story_id"])
    op.create_table(
        "tags",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
    )
    op.create_table(
        "story_tags",
        sa.Column("story_id", sa.String(64), sa.ForeignKey("stories.id"), primary_key=True),
        sa.Column("tag_id", sa.String(64), sa.ForeignKey("tags.id"), primary_key=True),
        sa.Column("weight", sa.Float, nullable=False),
    )
    op.create_table(
        "written",
        sa.Column("story_id", sa.String(64), sa.ForeignKey("stories.id"), primary_key=True),
        sa.Column("format", sa.String(16), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("built", sa.String(40), nullable=False),
    )
    op.create_table(
        "stage_state",
        sa.Column("stage", sa.String(40), primary_key=True),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for name in ("stage_state", "written", "story_tags", "tags", "memberships", "stories",
                 "dedupe", "analyses", "rejects", "articles", "raw_docs"):
        op.drop_table(name)
