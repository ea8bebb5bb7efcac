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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from matome.language import fold, resolve_surnames, textja
from matome.records import Article, Mention, Stage
from matome.settings import TagSettings, ThemeSettings

STAGE = Stage("tags", 3)
IGNORED = frozenset({"日本", "政府"})
HEAD_SENTENCES = 3  # on nearly every Japanese story: a tag page says nothing


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
    parent: str | None = None  # the tag id of a broader theme


def build_tags(
    stories: dict[str, list[Article]],
    mentions: dict[str, list[Mention]],
    settings: TagSettings,
    themes: list[ThemeSettings],
    key_of: Callable[[str], str] = fold,
) -> tuple[list[Tag], dict[str, list[tuple[str, float]]]]:
    """All tags, and per story its (tag id, weight) list, best first.

    ``key_of`` maps a name written in config to its canonical entity key
    (the pipeline passes the resolver, so 「日銀」 in a theme finds 日本銀行).
    """
    theme_entities = {t.name: {key_of(e) for e in t.entities} for t in themes}
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
        keys = {m.key for m in story_mentions}
        heads = [_head(a) for a in arts]  # once per story, not once per theme and word
        matched = {t.name for t in themes
                   if (_keyword_hit(t, heads, arts) or theme_entities[t.name] & keys)
                   and not _excluded(t, heads)}
        for name in _with_parents(matched, themes):
            per_story[sid].append((theme_id(name), 1.0))
    used = {tid for lst in per_story.values() for tid, _ in lst}
    tags = []
    for key in sorted(names):
        tid = tag_id(key)
        if tid not in used:
            continue
        name = _display_name(names[key], kinds[key].most_common(1)[0][0])
        aliases = sorted({*names[key], *surfaces[key]} - {name})
        tags.append(Tag(tid, name, kinds[key].most_common(1)[0][0], aliases))
    by_name = {t.name: t for t in themes}
    for name in sorted({n for t in themes for n in (t.name, t.parent) if n}):
        tid = theme_id(name)
        theme = by_name.get(name)
        parent = theme_id(theme.parent) if theme and theme.parent else None
        existing = next((t for t in tags if t.id == tid), None)
        if existing is not None:  # a theme named like an entity: one tag, the theme's place in the tree
            existing.parent = parent
            existing.aliases = sorted({*existing.aliases, *(theme.aliases if theme else [])})
        elif tid in used:
            tags.append(Tag(tid, name, "theme", sorted(theme.aliases) if theme else [], parent))
    return tags, per_story


def theme_id(name: str) -> str:
    return tag_id(fold(name))


def _with_parents(names: set[str], themes: list[ThemeSettings]) -> list[str]:
    """The matched themes and every theme above them, in a stable order."""
    parent = {t.name: t.parent for t in themes if t.parent}
    out: set[str] = set()
    for n in names:
        seen: set[str] = set()
        while n and n not in seen:  # a cycle in config must not hang the stage
            seen.add(n)
            out.add(n)
            n = parent.get(n, "")
    return sorted(out)


def _display_name(names: Counter[str], kind: str) -> str:
    # The site is Japanese: 佐伯健司 over "Kenji Saeki" when both were met.
    pool = [n for n in names if not n.isascii()] or list(names)
    if kind == "person":  # the full name, not 佐伯 alone
        return max(pool, key=lambda n: (len(n), names[n], n))
    return max(pool, key=lambda n: (names[n], -len(n), n))


def _contains(text: str, word: str) -> bool:
    """Whether ``word`` occurs in ``text`` as a word, not inside a longer one.

    "AI" must not match inside "SAID", nor 経済 inside 経済産業省: short
    Japanese keywords are matched on Sudachi token boundaries. Keywords of
    four characters or more are specific enough to match as substrings.
    """
    if word.isascii():
        return re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text) is not None
    if word not in text:
        return False
    if len(word) >= 4:
        return True
    starts, ends = _boundaries(text)
    i = text.find(word)
    while i >= 0:
        if i in starts and i + len(word) in ends:
            return True
        i = text.find(word, i + 1)
    return False


@lru_cache(maxsize=4096)
def _boundaries(text: str) -> tuple[frozenset[int], frozenset[int]]:
    tokens = textja.tokenize(text)
    return frozenset(t.start for t in tokens), frozenset(t.end for t in tokens)


def _head(a: Article) -> str:
    """Title and lead: where a report says what it is about."""
    sentences = textja.split_sentences(a.text)[:HEAD_SENTENCES]
    return a.title + "\n" + "".join(s.text for s in sentences)


def _excluded(theme: ThemeSettings, heads: list[str]) -> bool:
    return any(w and _contains(h, w) for h in heads for w in theme.exclude)


def _keyword_hit(theme: ThemeSettings, heads: list[str], arts: list[Article]) -> bool:
    """A keyword in a title or lead, or in the text of half the reports (at least two).

    A passing mention in one report's background (「1週間前の海底ケーブルの会合に
    続き」) does not make a story about the theme.
    """
    words = [w for w in (theme.name, *theme.aliases, *theme.keywords) if w]
    if any(_contains(h, w) for h in heads for w in words):
        return True
    in_body = sum(1 for a in arts if any(_contains(a.text, w) for w in words))
    return in_body >= 2 and in_body * 2 >= len(arts)
