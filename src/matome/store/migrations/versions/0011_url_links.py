"""report_urls, thread_links: a board thread finds its stories, and a story its threads, by index

Writing a story used to read every stored board post to find the threads
that discuss it, and a thread stored after its story was written reached that
story only when the story changed again. Existing rows are linked here as
stored (reports' URLs and the URLs threads name, which matome already keeps
canonical); later ones are written by ``process`` with each article.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from matome.store.schema import bounded

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHUNK = 1000


def _outside(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.Text(), "postgresql")


def _table(name: str, owner: str) -> sa.TableClause:
    op.create_table(
        name,
        sa.Column("url", _outside(200), primary_key=True),
        sa.Column(owner, _outside(200), sa.ForeignKey("articles.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_index(f"ix_{name}_{owner}", name, [owner])
    return sa.table(name, sa.column("url"), sa.column(owner))


def upgrade() -> None:
    reports = _table("report_urls", "article_id")
    threads = _table("thread_links", "thread_article")
    conn = op.get_bind()
    # chunks: an archive of a million reports is never one list in memory
    rows = conn.execute(sa.text("SELECT id, url FROM articles"))
    while batch := rows.fetchmany(CHUNK):
        op.bulk_insert(reports, [{"url": bounded(r.url), "article_id": r.id} for r in batch])
    links = conn.execute(sa.text("SELECT thread_article, discussed FROM reactions WHERE number = "
                                 "(SELECT MIN(number) FROM reactions r2 "
                                 "WHERE r2.thread_article = reactions.thread_article)"))
    seen: set[tuple[str, str]] = set()
    while batch := links.fetchmany(CHUNK):
        new = []
        for r in batch:
            for url in _urls(r.discussed):
                key = (bounded(url), r.thread_article)
                if key not in seen:
                    seen.add(key)
                    new.append({"url": key[0], "thread_article": key[1]})
        if new:
            op.bulk_insert(threads, new)


def _urls(value: object) -> list[str]:
    import json

    got = json.loads(value) if isinstance(value, str) else value
    return [u for u in got if isinstance(u, str)] if isinstance(got, list) else []


def downgrade() -> None:
    op.drop_table("thread_links")
    op.drop_table("report_urls")
