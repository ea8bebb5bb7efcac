"""Entities: find mentions, fold spellings, and resolve them to one canonical key.

First version, built on Sudachi tokens plus a small gazetteer. Finding and
folding happen per article (stored with the analysis); resolution across
articles (aliases defined in one article and used in another, surname-only
mentions, user merges) happens in :class:`Resolver`, built from all analyses,
because it needs more than one article to decide.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from matome.records import Mention
from matome.textja import Token, nfkc

TITLES = (
    "国務長官", "財務長官", "国防長官", "外務大臣", "財務大臣", "官房長官", "大統領", "副大統領",
    "首相", "外相", "財務相", "防衛相", "経産相", "蔵相", "国防相", "長官", "大臣", "議長",
    "総裁", "大使", "知事", "市長", "町長", "社長", "会長", "報道官", "代表", "委員長", "総理",
    "氏", "さん", "様", "殿", "相",
)
_TITLE_RE = re.compile("(?:" + "|".join(sorted(TITLES, key=len, reverse=True)) + ")$")
_EN_TITLES = re.compile(
    r"^(?:(?:Foreign|Prime|Finance|Defense|Trade)\s+Minister|Minister|President|Secretary"
    r"(?:\s+of\s+State)?|Governor|Chairman|Chair|Mr\.?|Ms\.?|Mrs\.?|Dr\.?)\s+")
_ORG_SUFFIX = re.compile(
    r".{1,12}(?:省|庁|銀行|機構|委員会|党|協会|連盟|連合|機関|議会|裁判所|大学|研究所|組合|"
    r"公社|財団|グループ|ホールディングス|電機|自動車|製作所|通信|新聞|放送)$")
_KATAKANA = re.compile(r"^[\u30a0-\u30ffー・]{2,}$")
_LATIN = re.compile(r"[A-Z][A-Za-z0-9]*(?:[.&\-][A-Za-z0-9]+)*(?:\s+(?:of\s+)?[A-Z][A-Za-z0-9]*)*")
# 主要7カ国(G7): the long form is the run before the bracket with no kana
# particles or punctuation in it (long forms of names are written in kanji,
# katakana and digits; は・が・の before them belong to the sentence).
_ALIAS_DEF = re.compile(
    r"([^\s\u3040-\u309f、。「」『』()（）・,.]{2,16})[（(]([A-Za-z][A-Za-z0-9\-]{1,9})[)）]")
_EN_STOP = {"The", "A", "An", "On", "In", "At", "It", "He", "She", "They", "We", "This", "That",
            "But", "And", "For", "After", "Before", "While", "According", "Japanese", "Tokyo"}
# Country abbreviations used inside compounds (日米, 米中) and before offices (米国務省).
_COUNTRY_CHARS = {"日": "日本", "米": "米国", "中": "中国", "韓": "韓国", "英": "英国",
                  "仏": "フランス", "独": "ドイツ", "伊": "イタリア", "加": "カナダ", "露": "ロシア",
                  "印": "インド", "豪": "オーストラリア", "朝": "北朝鮮", "台": "台湾", "欧": "欧州連合"}
_OFFICE_AFTER_COUNTRY = ("国務", "政府", "大統領", "国防", "財務", "側", "軍", "連邦", "首脳",
                         "外相", "首相", "当局", "紙")

_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_V_SOUNDS = (("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"), ("ヴ", "ブ"))


def strip_title(name: str) -> str:
    name = _EN_TITLES.sub("", name)
    stripped = _TITLE_RE.sub("", name)
    return stripped if len(stripped) >= 2 else name


def fold(name: str) -> str:
    """A key that spelling variants share: ベッセント and ベセント, G７ and g7."""
    key = nfkc(name).strip().lower()
    for a, b in _V_SOUNDS:
        key = key.replace(a, b)
    key = key.replace("ッ", "").replace("ー", "").replace("・", "").replace(" ", "")
    return key.translate(_SMALL)


@dataclass
class Entry:
    name: str
    kind: str
    aliases: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def builtin_entries() -> tuple[Entry, ...]:
    data = tomllib.loads(resources.files("matome").joinpath("data/entities.toml").read_text("utf-8"))
    return tuple(Entry(e["name"], e["kind"], list(e.get("aliases", []))) for e in data["entity"])


class Gazetteer:
    """Known names and aliases, matched as literal strings."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.by_surface: dict[str, Entry] = {}
        for e in entries:
            for surface in [e.name, *e.aliases]:
                if len(surface) >= 2:
                    self.by_surface[surface] = e
        self._surfaces = sorted(self.by_surface, key=len, reverse=True)

    def find(self, text: str) -> Iterable[tuple[int, int, Entry, str]]:
        for surface in self._surfaces:
            start = text.find(surface)
            while start >= 0:
                end = start + len(surface)
                if not (surface.isascii() and _inside_word(text, start, end)):
                    yield start, end, self.by_surface[surface], surface
                start = text.find(surface, end)


def _inside_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum())


def find_mentions(text: str, tokens: list[Token], gazetteer: Gazetteer) -> list[Mention]:
    """Entity mentions in one article, longest span first where they overlap."""
    cands: list[Mention] = []
    for start, end, entry, surface in gazetteer.find(text):
        cands.append(Mention(fold(entry.name), entry.name, entry.kind, surface, start, end))
    for d in _ALIAS_DEF.finditer(text):
        long_form, short = d.group(1), d.group(2)
        if long_form[-1:].isdigit():
            continue
        cands.append(Mention(fold(short), short, "organization", long_form, d.start(1), d.end(1)))
    cands += _token_mentions(tokens)
    cands += _latin_mentions(text)
    cands.sort(key=lambda c: (c.start, -(c.end - c.start)))
    out: list[Mention] = []
    taken_until = -1
    for c in cands:
        if c.start >= taken_until:
            out.append(c)
            taken_until = c.end
    return out


def _token_mentions(tokens: list[Token]) -> list[Mention]:
    out: list[Mention] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1].surface if i + 1 < len(tokens) else ""
        if t.pos[1] == "固有名詞":
            j = i + 1
            if t.pos[2] == "人名":
                while j < len(tokens) and tokens[j].pos[2] == "人名":
                    j += 1
            surface = "".join(x.surface for x in tokens[i:j])
            kind = {"人名": "person", "地名": "place"}.get(t.pos[2], "organization")
            after = tokens[j].surface if j < len(tokens) else ""
            if kind != "person" and len(surface) <= 4 and _TITLE_RE.fullmatch(after):
                kind = "person"  # 佐伯外相: Sudachi reads a lone 佐伯 as a place name
            out.append(_mention(surface, kind, t.start, tokens[j - 1].end))
            i = j
            continue
        if t.pos[0] == "名詞" and _KATAKANA.match(t.surface) and len(t.surface) >= 3 and (
            _TITLE_RE.search(nxt) or nxt in {"国務", "財務", "国防", "氏"}
        ):
            out.append(_mention(t.surface, "person", t.start, t.end))
        elif t.pos[0] == "名詞" and _ORG_SUFFIX.match(t.surface) and not t.surface[0].isdigit():
            out.append(_mention(t.surface, "organization", t.start, t.end))
        elif t.surface in _COUNTRY_CHARS and nxt.startswith(_OFFICE_AFTER_COUNTRY):
            out.append(_mention(_COUNTRY_CHARS[t.surface], "place", t.start, t.end, t.surface))
        elif 2 <= len(t.surface) <= 3 and all(c in _COUNTRY_CHARS for c in t.surface):
            for k, c in enumerate(t.surface):  # 日米 → 日本, 米国
                out.append(_mention(_COUNTRY_CHARS[c], "place", t.start + k, t.start + k + 1, c))
        i += 1
    return out


def _mention(name: str, kind: str, start: int, end: int, surface: str | None = None) -> Mention:
    display = strip_title(name) if kind == "person" else name
    return Mention(fold(display), display, kind, surface or name, start, end)


def _latin_mentions(text: str) -> list[Mention]:
    out = []
    for m in _LATIN.finditer(text):
        name = strip_title(m.group(0))
        if name in _EN_STOP or len(name) < 2:
            continue
        first = name.split()[0]
        if first in _EN_STOP:
            name = name[len(first):].strip()
            if len(name) < 2:
                continue
        kind = "organization" if name.isupper() or any(c.isdigit() for c in name) else "other"
        out.append(Mention(fold(name), name, kind, m.group(0), m.start(), m.end()))
    return out


def alias_pairs(mentions: Iterable[Mention]) -> list[tuple[str, str]]:
    """(alias key, canonical key) pairs an article defines: 主要7カ国(G7)."""
    return [(fold(m.surface), m.key) for m in mentions if fold(m.surface) != m.key
            and not m.surface.isascii() and m.key.isascii()]


class Resolver:
    """Maps mention keys to canonical keys across the whole store.

    Built from: the gazetteer, user aliases from config, alias definitions
    found in any article, and — per story — surname-only person mentions
    resolved to the one full name they begin (佐伯 → 佐伯健司).
    """

    def __init__(self, gazetteer: Gazetteer, user_aliases: dict[str, list[str]],
                 defined: Iterable[tuple[str, str]]) -> None:
        self.map: dict[str, str] = {}
        for surface, entry in gazetteer.by_surface.items():
            self.map[fold(surface)] = fold(entry.name)
        for alias, canonical in defined:
            self.map.setdefault(alias, canonical)
        for canonical, aliases in user_aliases.items():
            for a in aliases:
                self.map[fold(a)] = fold(canonical)

    def key(self, key: str) -> str:
        seen = set()
        while key in self.map and key not in seen and self.map[key] != key:
            seen.add(key)
            key = self.map[key]
        return key

    def resolve(self, mentions: Iterable[Mention]) -> list[Mention]:
        resolved = [Mention(self.key(m.key), m.name, m.kind, m.surface, m.start, m.end)
                    for m in mentions]
        return resolve_surnames(resolved)


def resolve_surnames(mentions: list[Mention]) -> list[Mention]:
    """A person key that begins exactly one longer person key becomes that key."""
    persons = {m.key for m in mentions if m.kind == "person"}
    full: dict[str, str] = {}
    for k in persons:
        longer = [p for p in persons if p != k and p.startswith(k) and len(k) >= 2]
        if len(longer) == 1:
            full[k] = longer[0]
    return [Mention(full.get(m.key, m.key), m.name, m.kind, m.surface, m.start, m.end)
            for m in mentions]
