"""Which reports a story is told from: pure functions over memberships and reports.

The store says which report joined which story and in what role; these
functions decide what a writer, the tags stage and the site read of it —
the reports a story is written from (a correction replaces the version it
supersedes) and every report it holds.
"""

from __future__ import annotations

from collections.abc import Iterable

from matome.records import Article, Membership

# Pages that are not news reports: a board thread or まとめ page (kept as
# reactions), a personal blog post. They never become a story's source.
NOT_REPORTS = frozenset({"board", "blog"})


def storyline_id(story: str) -> str:
    """The storyline a story starts (its id with another prefix) when none is stored for it."""
    return "l" + story[1:]


def reports(articles: Iterable[Article]) -> list[Article]:
    """Articles that may be a story's sources: not threads or blogs, not teasers without a body."""
    return [a for a in articles if a.kind not in NOT_REPORTS
            and not (a.kind == "teaser" and "body-withheld" in a.flags)]


def in_order(articles: Iterable[Article]) -> list[Article]:
    """Oldest first, undated last, then by id: the order reports are assigned and listed in."""
    return sorted(articles, key=lambda a: (a.published is None,
                                           a.published.timestamp() if a.published else 0, a.id))


def story_articles(memberships: Iterable[Membership], reports: Iterable[Article]) -> tuple[
        dict[str, list[Article]], dict[str, list[Article]]]:
    """Per story: (reports written from, every report including copies), oldest first.

    A near copy from the same outlet, published later, is that outlet's
    revision of its report (a correction, an update): it is written from in
    place of the version it supersedes, so a corrected figure is the one told.
    """
    by_id = {a.id: a for a in reports}
    sources: dict[str, list[Article]] = {}
    everything: dict[str, list[Article]] = {}
    current: dict[str, str] = {}  # original article id -> its latest revision
    for m in memberships:
        a = by_id.get(m.article_id)
        if a is None:
            continue
        everything.setdefault(m.story_id, []).append(a)
        if m.role == "member":
            sources.setdefault(m.story_id, []).append(a)
            continue
        root = (m.evidence or {}).get("duplicate_of")
        while root in current and current[root] != root:
            root = current[root]
        old = by_id.get(root or "")
        if old is not None and old.source == a.source and _is_newer(a, old):
            current[root or ""] = a.id
            current[a.id] = a.id
            lst = sources.get(m.story_id, [])
            if old in lst:
                lst[lst.index(old)] = a
    return ({k: in_order(v) for k, v in sources.items()},
            {k: in_order(v) for k, v in everything.items()})


def _is_newer(a: Article, b: Article) -> bool:
    if a.published and b.published:
        return a.published >= b.published
    return a.published is not None or (b.published is None and a.id > b.id)
