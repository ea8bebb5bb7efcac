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
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from matome.language import latin, names, textja
from matome.language.textja import Token, nfkc
from matome.records import Mention

TITLES = (
    "国務長官", "財務長官", "国防長官", "外務大臣", "財務大臣", "官房長官", "大統領", "副大統領",
    "首相", "外相", "財務相", "防衛相", "経産相", "蔵相", "国防相", "長官", "大臣", "議長",
    "総裁", "大使", "知事", "市長", "町長", "社長", "会長", "報道官", "代表", "委員長", "総理",
    "氏", "さん", "様", "殿", "相",
)
_TITLE_RE = re.compile("(?:" + "|".join(sorted(TITLES, key=len, reverse=True)) + ")$")
# An office written right after a name (茂木外相, 佐伯前外相): honorifics (氏, さん) say
# nothing of office and are left out. Verification and conflicts compare these.
OFFICE_AFTER = re.compile(r"^(前|元|現|次期|新)?(" + "|".join(sorted(
    (t for t in TITLES if t not in {"氏", "さん", "様", "殿", "相"}), key=len, reverse=True)) + ")")
_ORG_SUFFIX = re.compile(
    r".{1,12}(?:省|庁|銀行|機構|委員会|党|協会|連盟|連合|機関|議会|裁判所|大学|研究所|組合|"
    r"公社|財団|グループ|ホールディングス|電機|自動車|製作所|通信|新聞|放送)$")
_KATAKANA = re.compile(r"^[\u30a0-\u30ffー・]{2,}$")
# 主要7カ国(G7): the long form is the run before the bracket with no kana
# particles or punctuation in it (long forms of names are written in kanji,
# katakana and digits; は・が・の before them belong to the sentence).
_ALIAS_DEF = re.compile(
    r"([^\s\u3040-\u309f、。「」『』()（）【】・,.]{2,16})[（(]([A-Za-z][A-Za-z0-9\-]{1,9})[)）]")
# A dateline: "ROME -" or "TOKYO (Kyodo) -" at the very start of an English report.
_DATELINE = re.compile(r"^([A-Z]{3,}(?:\s+[A-Z]{3,})?)(?=\s*(?:\([^)]*\))?\s*[-\u2013\u2014])")
# Country abbreviations used inside compounds (日米, 米中) and before offices (米国務省).
_COUNTRY_CHARS = {"日": "日本", "米": "米国", "中": "中国", "韓": "韓国", "英": "英国",
                  "仏": "フランス", "独": "ドイツ", "伊": "イタリア", "加": "カナダ", "露": "ロシア",
                  "印": "インド", "豪": "オーストラリア", "朝": "北朝鮮", "台": "台湾", "欧": "欧州連合"}
_OFFICE_AFTER_COUNTRY = ("国務", "政府", "大統領", "国防", "財務", "側", "軍", "連邦", "首脳",
                         "外相", "首相", "当局", "紙")

# 岡山県倉敷市: a prefecture and a city written as one word are two places.
_PREF_CITY = re.compile(r"^(北海道|東京都|京都府|大阪府|.{2,3}県)(.{1,6}[市区町村郡])$")
# Words that read as a person's name before a title but are not one (同社社長, 副社長).
_NOT_A_NAME = frozenset({"同社", "同省", "同庁", "同国", "同市", "同県", "当社", "副", "前", "元",
                         "新", "次期", "現"})
# Heads that turn a proper noun into a bigger name: 宇野 + 港 is a port, not
# a person; みさき + 海運 is a company.
_PLACE_HEADS = frozenset({"港", "空港", "駅", "島", "湾", "川", "山", "半島", "海峡", "諸島"})
_ORG_HEADS = frozenset({"海運", "銀行", "電機", "商事", "物産", "工業", "重工", "製薬", "建設",
                        "証券", "生命", "航空", "鉄道", "電力", "ガス", "新聞", "放送", "通信",
                        "病院", "学園", "学院", "財務局"})
# Compounds that end like an organisation but name a kind of thing, not one body.
# (Words starting 各/同/諸/全/両 are left out by the rule itself, and a bare
# suffix such as 新聞 is too short for it to match.)
_GENERIC_ORGS = frozenset({"地方銀行", "中央銀行", "民間銀行", "都市銀行", "大手銀行", "地元銀行",
                           "国立大学", "私立大学", "労働組合", "地方議会", "政党", "野党", "与党",
                           "関係省庁", "中央省庁", "官庁", "省庁", "官公庁",
                           "教育機関", "金融機関", "医療機関", "行政機関", "研究機関", "報道機関",
                           "入党", "離党", "結党", "解党", "与野党", "新党"})
# 米子会社, 英子会社: a country's abbreviation, then 子会社 (a subsidiary)
_SUBSIDIARY = frozenset({"子会社"})
# Era names are dates, not organisations (Sudachi tags 昭和 as a proper noun).
_ERAS = frozenset({"明治", "大正", "昭和", "平成", "令和", "慶長", "天正", "元禄", "江戸", "享保",
                   "寛永", "天保", "安政", "慶応", "文化", "文政"})
# Honorifics that follow common nouns as readily as names (患者さん, モデルさん).
_SOFT_HONORIFICS = frozenset({"さん", "様", "殿", "さま", "ちゃん", "くん", "君"})
# Counters and other one-kanji words that start no company name (この年ホンダは).
_NOT_NAME_KANJI = frozenset("年月日時分同各全諸本当前元新旧")
_HAN = re.compile(r"^[\u4e00-\u9fff々]+$")
_KATA = re.compile(r"^[\u30a0-\u30ffー]+$")

_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_V_SOUNDS = (("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"), ("ヴ", "ブ"))


def strip_title(name: str) -> str:
    name = latin.strip_office(name)
    stripped = _TITLE_RE.sub("", name)
    return stripped if len(stripped) >= 2 else name


def fold(name: str) -> str:
    """A key that spelling variants share: ベッセント and ベセント, G７ and g7.

    Also folds the long-vowel mark's look-alikes (ヒュ－ズ with a dash) and
    kana iteration marks (いすゞ = いすず, バヽ = ババ).
    """
    key = _expand_iteration(_READING.sub("", nfkc(name)).strip().lower())
    for a, b in _V_SOUNDS:
        key = key.replace(a, b)
    key = _DASHES.sub("", key)
    key = key.replace("ッ", "").replace("ー", "").replace("・", "").replace(" ", "")
    return key.translate(_SMALL)


# A reading written after a name, as broadcasters do and as Sudachi keeps some names
# (日本(にっぽん)維新の会): the name without it is the one other outlets write.
_READING = re.compile(r"(?<=[\u4e00-\u9fff々])[(（][\u3041-\u3096ー]+[)）]")
_DASHES = re.compile(r"(?<=[\u30a0-\u30ff])[-‐‑–—―−－~〜～](?=[\u30a0-\u30ff]|$)")


def _expand_iteration(text: str) -> str:
    out: list[str] = []
    for c in text:
        if c in "ゝヽ" and out:
            out.append(out[-1])
        elif c in "ゞヾ" and out:
            out.append(unicodedata.normalize("NFC", out[-1] + "\u3099"))
        else:
            out.append(c)
    return "".join(out)


@dataclass
class Entry:
    name: str
    kind: str
    aliases: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def builtin_entries() -> tuple[Entry, ...]:
    data = tomllib.loads(resources.files("matome.language").joinpath("data/entities.toml").read_text("utf-8"))
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
    if (d := _DATELINE.match(text)) is not None:  # before the Latin names: it wins the tie
        city = d.group(1).title()
        entry = gazetteer.by_surface.get(city)
        name = entry.name if entry else city
        cands.append(Mention(fold(name), name, "place", d.group(1), d.start(1), d.end(1),
                             names.sound_of_latin(city)))
    starts = {t.start for t in tokens}
    ends = {t.end for t in tokens}
    for start, end, entry, surface in gazetteer.find(text):
        # A Japanese name must begin and end on word boundaries: インド is not
        # in ウインドウ, nor 日本 in 東日本大震災. (Text past Sudachi's size
        # limit has no tokens; there the literal match stands.)
        if not surface.isascii() and tokens and start < tokens[-1].end and not (
                start in starts and end in ends):
            continue
        cands.append(Mention(fold(entry.name), entry.name, entry.kind, surface, start, end))
    for d in _ALIAS_DEF.finditer(text):
        long_form, short = d.group(1), d.group(2)
        if long_form[-1:].isdigit():
            continue
        cands.append(Mention(fold(short), short, "organization", long_form, d.start(1), d.end(1)))
    cands += _token_mentions(tokens)
    cands += _country_runs(text)
    cands += latin.latin_mentions(text, [(c.start, c.end) for c in cands if c.surface.isascii()], fold)
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
        if t.surface.isascii():  # Latin text is read by latin.latin_mentions
            i += 1
            continue
        nxt = tokens[i + 1].surface if i + 1 < len(tokens) else ""
        prev = tokens[i - 1].surface if i > 0 else "。"
        if t.pos[1] == "固有名詞" and t.surface in _ERAS:
            i += 1
            continue
        if len(t.surface) == 2 and t.surface[0] in _COUNTRY_CHARS and t.surface[1] + nxt in _SUBSIDIARY:
            # 米子会社: a US subsidiary (米 + 子会社), not the city of 米子, as Sudachi reads it; the
            # 米 says where the company is, as in 米ラスベガス, and names no place of its own
            i += 1
            continue
        if t.pos[1] == "固有名詞":
            j = i + 1
            if t.pos[2] == "人名":
                # マルコ・バレンティ is one name; 羽田孜・杉山憲夫 is a list of two.
                while j < len(tokens) and (tokens[j].pos[2] == "人名" or (
                        tokens[j].surface == "・" and j + 1 < len(tokens)
                        and tokens[j + 1].pos[2] == "人名" and _KATA.match(tokens[j - 1].surface)
                        and _KATA.match(tokens[j + 1].surface))):
                    j += 1
            if t.pos[2] == "地名" and prev == "立":  # 市立中央図書館: part of a facility name
                i = j
                continue
            kind = {"人名": "person", "地名": "place"}.get(t.pos[2], "organization")
            if j < len(tokens) and tokens[j].surface in _PLACE_HEADS | _ORG_HEADS:
                kind = "place" if tokens[j].surface in _PLACE_HEADS else "organization"
                j += 1
            elif kind == "organization" and t.surface.endswith(tuple(_PLACE_HEADS)):
                kind = "place"  # 神戸港
            surface = "".join(x.surface for x in tokens[i:j])
            after = tokens[j].surface if j < len(tokens) else ""
            if kind != "person" and len(surface) <= 4 and _TITLE_RE.fullmatch(after):
                kind = "person"  # 佐伯外相: Sudachi reads a lone 佐伯 as a place name
            if kind == "person" and j == i + 1 and not _TITLE_RE.fullmatch(after) and i > 0 \
                    and (prev == "の" or tokens[i - 1].pos[0] in {"動詞", "助動詞", "形容詞", "連体詞"}) \
                    and textja.also_common_noun(surface):
                # 「…との見方が強い」「広がる見方」: Sudachi reads 見方 as a surname. A lone word
                # that is also a common noun, modified as nouns are and with no given name or
                # title beside it, is the noun (news writes a person with a title: 日銀の植田総裁)
                i = j
                continue
            if kind == "person" and j == i + 1 and _KATA.match(surface) and not _TITLE_RE.fullmatch(after) \
                    and (i == 0 or tokens[i - 1].surface != "・") and textja.also_common_noun(surface):
                # 「クマが人の生活圏に出没」: Sudachi also reads クマ as a given name; a lone katakana word
                # that is a common noun, with no title, is the noun (a person's katakana name comes whole
                # or with a title: マルコ・バレンティ外相)
                i = j
                continue
            sound = names.sound_of_readings(x.reading for x in tokens[i:j]) \
                if kind == "person" else ""
            if kind == "place" and (pc := _PREF_CITY.match(surface)):
                cut = t.start + len(pc.group(1))
                out.append(_mention(pc.group(1), "place", t.start, cut))
                out.append(_mention(pc.group(2), "place", cut, t.end))
            else:
                out.append(_mention(surface, kind, t.start, tokens[j - 1].end, sound=sound))
            i = j
            continue
        if (org := _unknown_company(tokens, i)) > i:
            surface = "".join(x.surface for x in tokens[i:org])
            out.append(_mention(surface, "organization", t.start, tokens[org - 1].end))
            i = org
            continue
        after_country = tokens[i + 2].surface if nxt in _COUNTRY_CHARS and i + 2 < len(tokens) else ""
        if t.pos[0] == "名詞" and _KATAKANA.match(t.surface) and len(t.surface) >= 3 and (
            (_TITLE_RE.search(nxt) and nxt not in _SOFT_HONORIFICS)
            or nxt in {"国務", "財務", "国防", "氏"}
            or after_country.startswith(("国務", "財務", "国防", "商務")) or _TITLE_RE.search(after_country)
        ):
            out.append(_mention(t.surface, "person", t.start, t.end,
                                sound=names.sound_of_readings([t.reading])))
        elif (t.pos[0] == "名詞" and _HAN.match(t.surface) and 2 <= len(t.surface) <= 3
              and t.surface not in _NOT_A_NAME and _TITLE_RE.fullmatch(nxt)
              and nxt not in _SOFT_HONORIFICS and nxt != "氏"
              and prev in {"の", "は", "、", "。", "が", "と"} and t.pos[1] != "固有名詞"):
            # 同社の早瀬社長: a surname Sudachi does not know, told by the title after it.
            out.append(_mention(t.surface, "person", t.start, t.end))
        elif t.pos[0] == "名詞" and _ORG_SUFFIX.match(t.surface) and not t.surface[0].isdigit() \
                and t.surface not in _GENERIC_ORGS and t.pos[2] != "サ変可能" \
                and t.surface[0] not in "各同諸全両":
            out.append(_mention(t.surface, "organization", t.start, t.end))
        elif t.surface in _COUNTRY_CHARS and nxt.startswith(_OFFICE_AFTER_COUNTRY):
            out.append(_mention(_COUNTRY_CHARS[t.surface], "place", t.start, t.end, t.surface))
        i += 1
    return out


# 日米, 日中韓, 日米豪印: country abbreviations run together. Two characters
# need a political word after them (日中は晴れ is "daytime"); three or more
# are never anything else.
_COUNTRY_RUN = re.compile(
    "(?<![\u4e00-\u9fff])([" + "".join(_COUNTRY_CHARS) + "]{2,5})"
    "(?=(?:両|首脳|外相|財務相|防衛相|経済|会談|関係|間|共同|[2-5３-５三四五]カ国|各国|政府|協議|"
    "同盟|連携|貿易|外交|対話|合意|首相|交渉|韓|[のがはとも、]))")


def _country_runs(text: str) -> list[Mention]:
    out = []
    for m in _COUNTRY_RUN.finditer(text):
        run = m.group(1)
        after = text[m.end():m.end() + 1]
        if len(run) == 2 and after in "のがはとも、" and run in {"日中", "中米", "日英"}:
            continue  # 日中の / 日中は read as "daytime"; 中米 is Central America
        if len(set(run)) != len(run):
            continue
        for k, c in enumerate(run):
            out.append(_mention(_COUNTRY_CHARS[c], "place", m.start() + k, m.start() + k + 1, c))
    return out


def _unknown_company(tokens: list[Token], i: int) -> int:
    """End of a company name Sudachi does not know, or ``i``.

    凪野セミコンダクター comes out as 凪 + 野 + セミコンダクター: single-kanji
    fragments of an unknown name followed by a katakana head, in subject
    position (before は/が). Common compounds (半導体メーカー) have
    multi-character dictionary words in front and are left alone.
    """
    j = i
    while j < len(tokens) and len(tokens[j].surface) == 1 and _HAN.match(tokens[j].surface) \
            and tokens[j].pos[0] in {"名詞", "接尾辞", "接頭辞"} and tokens[j].pos[2] != "助数詞可能" \
            and not (j == i and tokens[j].surface in _NOT_NAME_KANJI):
        j += 1
    if j == i or j - i > 3 or j >= len(tokens):
        return i
    k = j
    while k < len(tokens) and _KATA.match(tokens[k].surface) and tokens[k].pos[0] == "名詞":
        k += 1
    if k == j or k >= len(tokens) or tokens[k].surface not in {"は", "が", "と", "も"}:
        return i
    return k


def _mention(name: str, kind: str, start: int, end: int, surface: str | None = None,
             sound: str = "") -> Mention:
    bare = _READING.sub("", name)
    display = strip_title(bare) if kind == "person" else bare
    return Mention(fold(display), display, kind, surface or name, start, end, sound)


# English stop words that never begin a name ("Even Chelsea", "Have I"): scikit-learn's
# list less the words that are also names or parts of one (Bill, Will, De, Fire).
