"""Tags stage: the entities a story is about, plus configured themes.

An entity tags a story when it is what one of the story's reports is about
(:func:`about`): named in its title or lead, or central in its text —
whether one outlet reported the story or ten. A compound that begins with
the entity (外務省予算案, G7外相会合) is a mention of it when the language
stage finds the entity in it. A passing mention (once, late in a long text)
does not tag; neither does an entity named only in passing by each of
several reports, unless ``tags.min_articles`` of them name it and two are
about it. A person named as the head of a government (高市政権, 岸田内閣)
dates or places the report; it does not make it about the person. One tag per
canonical entity across the site, so a name spelt three ways is still one
tag page. A theme with ``entities`` tags a story about one of them.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from matome.language import fold, resolve_surnames, textja
from matome.records import Article, Mention, Stage
from matome.settings import TagSettings, ThemeSettings

STAGE = Stage("tags", 6)
IGNORED = frozenset({"日本", "政府"})
HEAD_SENTENCES = 3  # on nearly every Japanese story: a tag page says nothing
LEAD_CHARS = 80  # the lead: the first sentences, up to this many characters at least
CENTRAL_SHARE = 0.2  # named in this share of a report's sentences (and in two at least): central
STORY_SHARE = 0.5  # a story of three reports or more is about what this share of them is about
# After a person's name: their government, named as an era or an actor (高市政権発足後初の会合)
_GOVERNMENT = re.compile(r"新?(?:政権|内閣|陣営)")
# A surname Sudachi reads as a place (高市, as if a city): a place of two or three kanji before
# 政権 or 内閣 is a person's unless it is a country's name (米国, 中国; 米 and ロシア are not kanji pairs)
_SURNAME_LIKE = re.compile(r"[\u4e00-\u9fff々]{2,3}(?<!国)")
_COUNTRIES = frozenset({"台湾", "日本", "北朝鮮", "香港", "欧州"})


def _leader(m: Mention, people: set[str] | frozenset[str]) -> bool:
    """Whether a mention may be a person's name (one that can head a government: not 米, 中国)."""
    return m.kind == "person" or m.key in people or (
        m.kind == "place" and _SURNAME_LIKE.fullmatch(m.surface) is not None and m.surface not in _COUNTRIES)


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


@dataclass
class StoryTagging:
    """One story's tags (tag id, weight; best first) and what it says of each entity's names:
    per entity key, how often each name, kind and surface was met. Summed over stories these
    give each tag's display name and aliases, so a changed story changes them by its own part."""

    tags: list[tuple[str, float]]
    names: dict[str, Counter[str]]
    kinds: dict[str, Counter[str]]
    surfaces: dict[str, Counter[str]]


def tag_story(arts: list[Article], mentions: dict[str, list[Mention]], settings: TagSettings,
              themes: list[ThemeSettings], theme_entities: dict[str, set[str]]) -> StoryTagging:
    """The tags of one story: the entities it is about, and the themes it matches."""
    story_mentions = resolve_surnames([m for a in arts for m in mentions.get(a.id, [])])
    names: dict[str, Counter[str]] = defaultdict(Counter)
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    by_article: dict[str, set[str]] = defaultdict(set)
    # Sudachi reads some surnames as places (高市): a key any mention in the story gives as a
    # person is a person's
    people = {m.key for m in story_mentions if m.kind == "person"}
    count: Counter[str] = Counter()
    about_in: Counter[str] = Counter()
    offset = 0
    for a in arts:
        n = len(mentions.get(a.id, []))
        own = story_mentions[offset : offset + n]
        for m in own:
            by_article[m.key].add(a.id)
            count[m.key] += 1
            names[m.key][m.name] += 1
            surfaces[m.key][m.surface] += 1
            kinds[m.key][m.kind] += 1
        about_in.update(about(a, own, people))
        offset += n
    chosen = []
    for key, arts_with in by_article.items():
        if any(n in IGNORED for n in names[key]):
            continue
        if enough(about_in[key], len(arts_with), len(arts), settings.min_articles):
            chosen.append((key, about_in[key] + len(arts_with) / 10 + count[key] / 1000))
    chosen.sort(key=lambda kv: (-kv[1], kv[0]))
    out = [(tag_id(k), round(w, 3)) for k, w in chosen[: settings.max_per_story]]
    keys = {k for k, _ in chosen}
    heads = [head_text(a) for a in arts]  # once per story, not once per theme and word
    matched = {t.name for t in themes
               if (_keyword_hit(t, heads, arts) or theme_entities[t.name] & keys)
               and not _excluded(t, heads)}
    out += [(theme_id(name), 1.0) for name in _with_parents(matched, themes)]
    return StoryTagging(out, dict(names), dict(kinds), dict(surfaces))


def theme_keys(themes: list[ThemeSettings], key_of: Callable[[str], str] = fold) -> dict[str, set[str]]:
    """Per theme, the canonical keys of the entities that make a story match it."""
    return {t.name: {key_of(e) for e in t.entities} for t in themes}


def entity_tag(key: str, names: Counter[str], kinds: Counter[str], surfaces: Iterable[str]) -> Tag:
    """An entity's tag from the names, kinds and surfaces it was met with across stories."""
    kind = kinds.most_common(1)[0][0]
    name = _display_name(names, kind)
    return Tag(tag_id(key), name, kind, sorted({*names, *surfaces} - {name}))


def theme_tags(themes: list[ThemeSettings], used: Callable[[str], bool],
               entity: Callable[[str], Tag | None]) -> list[Tag]:
    """Tags of the themes (and their parents) that some story carries; a theme named like an
    entity is that entity's tag, with the theme's place in the tree (``entity`` finds it)."""
    by_name = {t.name: t for t in themes}
    out = []
    for name in sorted({n for t in themes for n in (t.name, t.parent) if n}):
        tid = theme_id(name)
        theme = by_name.get(name)
        parent = theme_id(theme.parent) if theme and theme.parent else None
        existing = entity(tid)
        if existing is not None:
            existing.parent = parent
            existing.aliases = sorted({*existing.aliases, *(theme.aliases if theme else [])})
            out.append(existing)
        elif used(tid):
            out.append(Tag(tid, name, "theme", sorted(theme.aliases) if theme else [], parent))
    return out


def build_tags(
    stories: dict[str, list[Article]],
    mentions: dict[str, list[Mention]],
    settings: TagSettings,
    themes: list[ThemeSettings],
    key_of: Callable[[str], str] = fold,
) -> tuple[list[Tag], dict[str, list[tuple[str, float]]]]:
    """All tags, and per story its (tag id, weight) list, best first: every story tagged at once
    (the tags stage does the same one changed story at a time, with the sums kept in the store).

    ``key_of`` maps a name written in config to its canonical entity key
    (the pipeline passes the resolver, so 「日銀」 in a theme finds 日本銀行).
    """
    theme_entities = theme_keys(themes, key_of)
    names: dict[str, Counter[str]] = defaultdict(Counter)
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    per_story: dict[str, list[tuple[str, float]]] = {}
    for sid, arts in sorted(stories.items()):
        got = tag_story(arts, mentions, settings, themes, theme_entities)
        per_story[sid] = got.tags
        for total, part in ((names, got.names), (kinds, got.kinds), (surfaces, got.surfaces)):
            for key, c in part.items():
                total[key].update(c)
    used = {tid for lst in per_story.values() for tid, _ in lst}
    entities = {tag_id(k): entity_tag(k, names[k], kinds[k], surfaces[k])
                for k in sorted(names) if tag_id(k) in used}
    themed = theme_tags(themes, used.__contains__, entities.get)
    tags = [*(g for g in entities.values()), *(g for g in themed if g.id not in entities)]
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


def head_text(a: Article) -> str:
    """Title and lead: where a report says what it is about."""
    sentences = textja.split_sentences(a.text)[:HEAD_SENTENCES]
    return a.title + "\n" + "".join(s.text for s in sentences)


def lead_end(text: str, start: int = 0) -> int:
    """Where a report's lead ends: after its first sentence (from ``start``, past a byline), or the
    next ones while the lead is shorter than ``LEAD_CHARS`` (「東京・永田町に激震が走りました。」
    is no lead on its own)."""
    for s in textja.split_sentences(text):
        if s.end > start and s.end - start >= LEAD_CHARS:
            return s.end
    return len(text)


def enough(about_n: int, named_n: int, reports: int, min_articles: int) -> bool:
    """Whether a story is about an entity: about it in one report when the story has one or two,
    otherwise in ``STORY_SHARE`` of its reports — or named in ``min_articles`` of them, two of
    which are about it. One report of eight that leads with the prime minister, among others that
    name her in passing, does not put a central bank's decision on her page."""
    if about_n == 0:
        return False
    return reports <= 2 or about_n >= STORY_SHARE * reports or (named_n >= min_articles
                                                                and about_n >= 2)


def about(a: Article, mentions: list[Mention], people: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """The entity keys one report is about: named in its title or lead, or central in its text.

    Central: named in two of its sentences at least, and in ``CENTRAL_SHARE``
    of them. 「外務省は28日…と発表」 makes a report about 外務省 however long
    it is; a G7 named once in the tenth sentence of twenty does not. A person
    (``people``: keys known to be persons) named as the head of a government
    (「高市政権発足後初となる会合」) does not count.
    """
    bylines = _bylines(a.text, mentions)
    mentions = [m for m in mentions if not any(s <= m.start < e for s, e in bylines)
                and not (_leader(m, people) and _GOVERNMENT.match(a.text, m.end))]
    if not mentions:
        return set()
    lead = lead_end(a.text, bylines[0][1] if bylines and bylines[0][0] == 0 else 0)
    ends = [s.end for s in textja.split_sentences(a.text)] or [len(a.text)]
    found = {m.key for m in mentions if m.start < lead or (m.surface and m.surface in a.title)}
    where: dict[str, set[int]] = defaultdict(set)
    for m in mentions:
        where[m.key].add(bisect.bisect_right(ends, m.start))
    need = max(2, CENTRAL_SHARE * len(ends))
    return found | {k for k, sentences in where.items() if len(sentences) >= need}


# What may stand beside reporters' names in a byline: a dateline (ニューヨーク=) or a role.
_BYLINE_REST = re.compile(r"[\s、,・]*(?:[^\s。、「」]{1,12}[=＝]|[^\s。、「」]{0,12}"
                          r"(?:編集委員|論説委員|解説委員|特派員|記者|エディター|デスク|支局|総局|報道部))?"
                          r"[\s、,・]*(?:記者|撮影|写真)?[\s、,・]*")
# A first line that only credits the outlet (broadcasters' pages open so): no sentence, a name
# ending as outlets' names do, or a Latin name with its initials
_CREDIT_LINE = re.compile(r"\s*(?:[^。、「」\n]{0,30}(?:ニュース|NEWS|News|NewsNetwork|新聞|テレビ|放送|通信)"
                          r"(?:\s*[（(][^）)\n]{1,10}[)）])?"
                          r"|[A-Za-z][A-Za-z .&]{1,40}[（(][A-Z]{2,6}[)）])\s*")
_WIRE_CREDIT = re.compile(r"\s*[（(][^（）()\n]{1,20}[）)]\s*[:：]")
_CLOSING = re.compile(r"[（(]([^（）()\n]{1,30})[)）]\s*$")


def _bylines(text: str, mentions: list[Mention]) -> list[tuple[int, int]]:
    """Spans of the text that are the reporters' byline: a first line of names (with a dateline or
    role: 「ニューヨーク=真海喬生」, 「編集委員 田中陽」, 「小田健司、佐藤常敬」) or the outlet's
    credit, or a closing 「（米田優人）」."""
    people = [m for m in mentions if m.kind == "person"]
    out = []
    if credit := _WIRE_CREDIT.match(text):
        out.append((0, credit.end()))   # 「(ブルームバーグ):片山財務相は…」: the wire that sent it
    first = text.find("\n")
    if first > 0 and _CREDIT_LINE.fullmatch(text[:first]):
        out.append((0, first))   # 「All Nippon NewsNetwork(ANN)」「MBSニュース」: the broadcaster's credit
    for start, end in [(0, len(text) if first < 0 else first),
                       (c.start(1), c.end(1)) if (c := _CLOSING.search(text)) else (0, 0)]:
        inside = [m for m in people if start <= m.start and m.end <= end]
        rest, at = "", start
        for m in inside:
            rest, at = rest + text[at : m.start], m.end
        if inside and _BYLINE_REST.fullmatch(rest + text[at:end]):
            out.append((start, end))
    return out


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
