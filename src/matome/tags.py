"""Tags stage: themes from the entities that recur in a story, plus configured themes.

An entity becomes a story's tag when it is named in at least
``tags.min_articles`` of the story's reports (for a one-report story: named
twice, or in the title). One tag per canonical entity across the site, so a
name spelt three ways is still one tag page.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from matome.entities import fold, resolve_surnames
from matome.records import Article, Mention, Stage
from matome.settings import TagSettings, ThemeSettings

STAGE = Stage("tags", 2)
IGNORED = frozenset({"日本", "政府"})  # on nearly every Japanese story: a tag page says nothing


def tag_id(key: str) -> str:
    if re.fullmatch(r"[a-z0-9][a-z0-9\-]{0,40}", key):
        return key
    return "t" + hashlib.sha1(key.encode()).hexdigest()[:10]


@dataclass
class Tag:
    id: str
    name: str
    kind: str
    aliases: list[str] = field(default_factory=list)


def build_tags(
    stories: dict[str, list[Article]],
    mentions: dict[str, list[Mention]],
    settings: TagSettings,
    themes: list[ThemeSettings],
) -> tuple[list[Tag], dict[str, list[tuple[str, float]]]]:
    """All tags, and per story its (tag id, weight) list, best first."""
    names: dict[str, Counter[str]] = defaultdict(Counter)
    surfaces: dict[str, set[str]] = defaultdict(set)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    per_story: dict[str, list[tuple[str, float]]] = {}
    for sid, arts in sorted(stories.items()):
        story_mentions = resolve_surnames([m for a in arts for m in mentions.get(a.id, [])])
        by_article: dict[str, set[str]] = defaultdict(set)
        count: Counter[str] = Counter()
        in_title: set[str] = set()
        offset = 0
        for a in arts:
            n = len(mentions.get(a.id, []))
            for m in story_mentions[offset : offset + n]:
                by_article[m.key].add(a.id)
                count[m.key] += 1
                names[m.key][m.name] += 1
                surfaces[m.key].add(m.surface)
                kinds[m.key][m.kind] += 1
                if m.surface in a.title:
                    in_title.add(m.key)
            offset += n
        chosen = []
        for key, arts_with in by_article.items():
            if any(n in IGNORED for n in names[key]):
                continue
            enough = len(arts_with) >= settings.min_articles if len(arts) > 1 \
                else count[key] >= 2 or key in in_title
            if enough:
                chosen.append((key, len(arts_with) + count[key] / 100))
        chosen.sort(key=lambda kv: (-kv[1], kv[0]))
        per_story[sid] = [(tag_id(k), round(w, 3)) for k, w in chosen[: settings.max_per_story]]
        for theme in themes:
            if _theme_matches(theme, arts):
                per_story[sid].append((tag_id(fold(theme.name)), 1.0))
    used = {tid for lst in per_story.values() for tid, _ in lst}
    tags = []
    for key in sorted(names):
        tid = tag_id(key)
        if tid not in used:
            continue
        name = _display_name(names[key], kinds[key].most_common(1)[0][0])
        aliases = sorted({*names[key], *surfaces[key]} - {name})
        tags.append(Tag(tid, name, kinds[key].most_common(1)[0][0], aliases))
    for theme in themes:
        tid = tag_id(fold(theme.name))
        if tid in used and all(t.id != tid for t in tags):
            tags.append(Tag(tid, theme.name, "theme", sorted(theme.aliases)))
    return tags, per_story


def _display_name(names: Counter[str], kind: str) -> str:
    # The site is Japanese: 佐伯健司 over "Kenji Saeki" when both were met.
    pool = [n for n in names if not n.isascii()] or list(names)
    if kind == "person":  # the full name, not 佐伯 alone
        return max(pool, key=lambda n: (len(n), names[n], n))
    return max(pool, key=lambda n: (names[n], -len(n), n))


def _theme_matches(theme: ThemeSettings, arts: list[Article]) -> bool:
    words = [theme.name, *theme.aliases, *theme.keywords]
    return any(w and (w in a.title or w in a.text) for a in arts for w in words)
