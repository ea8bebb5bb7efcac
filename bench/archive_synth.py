"""Synthetic Japanese news for ``bench/archive_scale.py``: a stream of reports with analyses.

The shape of the data (the bench prints this too):

- a steady stream of ``per_day`` reports a day (default 1,000) from 2023-01-01
  JST, in publication order, so 10k articles span 10 days and 1M about 2.7
  years while the clustering window (4 days) always holds the same ~4,000;
- events, each reported by 1-8 outlets (mean ~3) within about two days of its
  start; 6% of reports are copied word for word by another outlet minutes
  later (wire syndication: dedupe marks them, they join the original's story);
- 1,500 situations (a central bank's policy, a typhoon season, trade talks …)
  recur with Zipf popularity; an event belongs to one and shares its people,
  organisations, places and topic words; runs of 1-8 events of a situation are
  one storyline (each story follows the previous one);
- text: a title, a lead that names the event's day, 5-13 body sentences from
  ~30 templates filled with the event's names, topic words and figures
  (about 400-1,000 characters, a paragraph break every two sentences);
- analyses are built from the pieces the text was made of, each piece analysed
  once by matome's own analyzer (Sudachi lemmas, entity keys and kinds, figures),
  so they have the real analyses' shape and keys (``check_against_analyzer``
  compares them with the analyzer's output on a sample);
- embeddings (384 dimensions, like multilingual-e5-small): unit vectors around
  the event's centroid, which lies near its situation's (same-event cosine
  about 0.9, as e5 places Japanese news).

Deterministic: the N-th report of the stream is the same whatever size is asked
for, so a larger archive extends a smaller one, and the reports after an
archive (the "new" ones) continue its events.
"""

from __future__ import annotations

import heapq
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from typing import Any

import numpy as np

from matome.records import Analysis

SHAPE = ("a steady stream of {per_day:,} reports a day from 2023-01-01 JST; events told by 1-8 "
         "outlets (mean ~2.9) within two days, 6% of reports copied word for word by another "
         "outlet; 1,500 recurring situations (Zipf), runs of 1-8 events of one a storyline; "
         "~450-character texts from ~30 templates filled with the event's names, topic words, days "
         "and figures; analyses composed from pieces analysed by matome's analyzer; 384-d "
         "embeddings around event centroids (same-event cosine ~0.9)")
DIM = 384
JST = timezone(timedelta(hours=9))
START = datetime(2023, 1, 1, 6, 0, tzinfo=JST)
SITUATIONS = 1500
COPY_SHARE = 0.06
REPORTS_MEAN = (1 - (2 / 3) ** 8) * 3  # reports of an event: geometric, mean 3, at most 8


def _words(text: str) -> list[str]:
    return text.split()


SURNAMES = _words("佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 "
                  "清水 山崎 森 池田 橋本 阿部 石川 前田 藤田 小川 岡田 後藤 長谷川 村上 近藤 石井 坂本 "
                  "遠藤 青木 藤井 西村 福田 太田")
GIVEN = _words("健司 美穂 大輔 直子 浩 由美 誠 恵子 隆 裕子 剛 真理子 修 陽子 学 京子 亮 智子 拓也 "
               "明美 和也 聡 久美子 雄一 香織")
ROLES = {"政治": ["首相", "官房長官", "幹事長", "議員", "知事"],
         "経済": ["総裁", "財務相", "社長", "会長", "経済産業相"],
         "国際": ["外相", "大使", "防衛相", "首相", "特使"],
         "社会": ["市長", "知事", "院長", "教授", "署長"],
         "災害": ["知事", "市長", "防災相", "町長", "長官"],
         "科学": ["教授", "理事長", "社長", "所長", "研究員"]}
ORGS = _words("外務省 財務省 日本銀行 気象庁 厚生労働省 文部科学省 国土交通省 経済産業省 防衛省 警察庁 "
              "総務省 環境省 農林水産省 内閣府 金融庁 消費者庁 復興庁 国際通貨基金 世界保健機関 "
              "東京証券取引所 日本経済団体連合会 東京電力 日本郵便 欧州連合 北大西洋条約機構 "
              "宇宙航空研究開発機構 理化学研究所 東京大学 京都大学 自民党 立憲民主党 公明党 "
              "日本維新の会 国民民主党 共産党 最高裁判所 東京地裁 大阪高裁 日本年金機構")
PLACES = _words("東京都 大阪府 北海道 福岡県 沖縄県 愛知県 宮城県 広島県 京都府 神奈川県 新潟県 熊本県 "
                "静岡県 長野県 石川県 高知県 札幌市 横浜市 名古屋市 神戸市 仙台市 那覇市 金沢市 "
                "ワシントン 北京 ソウル ロンドン パリ ベルリン ブリュッセル ジュネーブ ニューヨーク "
                "台北 ニューデリー ジャカルタ")
TOPICS = {
    "経済": "金融政策 政策金利 物価上昇 賃上げ 円安 株価 為替相場 国債 消費税 景気対策 設備投資 "
            "個人消費 貿易赤字 原油価格 住宅ローン 最低賃金 企業業績 半導体 電気自動車 人手不足",
    "政治": "予算案 補正予算 衆院選 内閣改造 法改正 憲法改正 政治資金 国会審議 党首討論 防衛費 "
            "少子化対策 子育て支援 年金制度 地方創生 規制改革 行政改革 選挙制度 閣議決定 外交日程 世論調査",
    "国際": "首脳会談 外相会談 停戦交渉 経済制裁 関税措置 通商交渉 安全保障 核開発 難民支援 人道支援 "
            "国連総会 気候変動 海洋進出 軍事演習 自由貿易協定 重要鉱物 海底ケーブル 経済安全保障 "
            "首脳声明 領空侵犯",
    "社会": "交通事故 火災 詐欺事件 裁判員裁判 判決 児童虐待 医療体制 介護人材 感染症 ワクチン接種 "
            "教育改革 入試制度 働き方改革 地域交通 空き家対策 食品安全 物流 観光客 インバウンド 路線バス",
    "災害": "地震 津波注意報 台風 大雨 土砂災害 避難指示 停電 断水 大雪 猛暑 熱中症 河川氾濫 "
            "噴火警戒レベル 被害状況 復旧作業 仮設住宅 災害救助法 緊急地震速報 線状降水帯 高潮",
    "科学": "人工知能 生成AI 量子コンピューター 宇宙開発 月面探査 小惑星探査 ロケット打ち上げ 再生医療 "
            "新薬開発 遺伝子治療 脱炭素 再生可能エネルギー 原子力発電 水素エネルギー 蓄電池 "
            "サイバー攻撃 個人情報保護 自動運転 次世代通信 半導体製造",
}
TOPICS_SPLIT = {k: v.split() for k, v in TOPICS.items()}
OUTLETS = [(f"{a}{b}", f"www.{ra}-{rb}.example") for (a, ra) in (
    ("東都", "toto"), ("北海", "hokkai"), ("瀬戸内", "setouchi"), ("かもめ", "kamome"),
    ("港湾", "kowan"), ("朝凪", "asanagi"), ("山吹", "yamabuki"), ("潮見", "shiomi"),
    ("若葉", "wakaba"), ("白樺", "shirakaba")) for (b, rb) in (
    ("新聞", "shimbun"), ("通信", "tsushin"), ("日報", "nippo"), ("タイムズ", "times"))]
UNITS = ["億円", "万人", "%", "人", "件", "棟", "ミリ", "万円", "億ドル", "カ所"]
VALUES = [3, 5, 8, 12, 15, 20, 25, 30, 45, 50, 80, 120, 150, 200, 300, 500, 800, 1200]

TITLES = ["{O}、{K}で{K2}を発表", "{L}で{K}　{N}に", "{K}めぐり{O}が{K2}", "{O}が{K}を決定　{K2}へ",
          "{L}の{K}、{K2}に影響", "{K}、{N}　{O}まとめ", "{Pn}{r}「{K}を急ぐ」", "{K}で{L}に{K2}"]
LEADS = ["{P}は{D}、{L}で記者会見を開き、{K}について{K2}の方針を明らかにした。",
         "{O}は{D}、{K}に関する{K2}を発表した。",
         "{L}で{D}、{K}があり、{O}によると{N}に影響が出ている。",
         "{P}は{D}、{O}の会合で{K}と{K2}について協議した。",
         "{O}は{D}、{K}をめぐり{K2}を決めた。"]
BODY = ["{O}によると、{K}の規模は{N}に上る見通しだという。",
        "{Ps}は「{K}は{K2}の観点から極めて重要だ」と述べた。",
        "関係者によると、{O}は{K2}の見直しも検討している。",
        "{L}では{K}に対する懸念が広がっており、{O}は対応を急ぐ考えだ。",
        "専門家は「{K}の影響は長期化する可能性がある」と指摘している。",
        "{O}は{D2}にも{K2}について改めて協議する予定だ。",
        "前年の同じ時期と比べて{N}増えた。",
        "{K}をめぐっては、{L}でも同様の動きが出ている。",
        "{Ps}は記者団に対し「丁寧に説明していきたい」と語った。",
        "{O}は{K2}に向けて{N}を計上する方針だ。",
        "{L}の住民からは「{K}の先行きが見えない」との声が上がった。",
        "{O}の担当者は「状況を注視し、必要な対策を講じる」と話した。",
        "一方、{O}は{K}の影響について「現時点で判断するのは難しい」としている。",
        "{K}は{N}に達し、過去最多を更新した。",
        "{Ps}は{O}と連携し、{K2}を進める考えを示した。",
        "{L}では{D2}までに{K2}の具体策をまとめる。",
        "{O}は{K}に関する調査結果を近く公表する。",
        "政府内では{K}と{K2}を一体で進めるべきだとの意見もある。",
        "{K}の対象は{N}で、{L}が最も多かった。",
        "市場関係者の間では{K2}への期待が高まっている。",
        "{Ps}は今後について「あらゆる選択肢を排除しない」と強調した。",
        "{O}は{L}に職員を派遣し、{K}の実態を調べている。",
        "{L}と{L2}の間では{K}をめぐる協議が続いている。",
        "{O2}も{K2}について独自の調査を始めた。",
        "{Ps}は{D2}に{L}を訪れ、{K}の現状を視察する。",
        "これまでに{N}が{K}の対象となった。",
        "{K2}の行方は{O}の判断に委ねられる。",
        "{O}は「{K}への対応を最優先で進める」としている。"]
_SLOT = re.compile(r"\{(\w+)\}")


# --- pieces: text made of analysed parts ------------------------------------
# Mentions and figures are kept as the JSON the store holds (dicts): building
# dataclasses per report and converting them back costs more than the rest.


@dataclass(frozen=True)
class Piece:
    """One part of a sentence: its text and what the analyzer finds in it, offsets from 0."""

    text: str
    lemmas: tuple[str, ...] = ()
    mentions: tuple[dict[str, Any], ...] = ()
    quantities: tuple[dict[str, Any], ...] = ()
    day: date | None = None     # a date the text names (「15日」)


@cache
def fixed(text: str) -> Piece:
    """Template text: its content lemmas, by Sudachi as matome tokenises."""
    from matome.language import textja

    return Piece(text, tuple(lem.lower() for lem in textja.content_lemmas(textja.tokenize(text))))


@cache
def entity(name: str, kind: str, surname: str = "") -> Piece:
    """A name as the analyzer finds it in a plain sentence: its mention (key, kind, sound).

    ``surname``: the piece is that surname alone (「佐藤氏」 after 「佐藤健司首相」), as
    the analyzer links it to the full name within an article.
    """
    from matome.language import analyze, textja
    from matome.records import Article

    lead = {"person": "{}氏は述べた。", "organization": "{}は発表した。"}.get(kind, "{}で開かれた。")
    text = lead.format(name) + (f"{surname}氏は話した。" if surname else "")
    got = analyze.analyze(Article("x", "", "", text, "", "ja"), analyze.gazetteer())
    surface = surname or name
    at = text.rindex(surface)
    found = tuple(asdict(m) | {"start": m.start - at, "end": m.end - at}
                  for m in got.mentions if m.start >= at and m.end <= at + len(surface))
    lemmas = tuple(lem.lower() for lem in textja.content_lemmas(textja.tokenize(surface)))
    return Piece(surface, lemmas, found)


@cache
def figure(text: str) -> Piece:
    from matome.language import numerals

    return Piece(text, (), (), tuple(asdict(q) | {"key": q.key()}
                                     for q in numerals.find_quantities(text)))


@cache
def day_piece(d: date) -> Piece:
    return Piece(f"{d.day}日", (), (), (), d)


@cache
def template(text: str) -> tuple[Piece | str, ...]:
    """A template as its fixed pieces and slot names, parsed once."""
    out: list[Piece | str] = []
    pos = 0
    for m in _SLOT.finditer(text):
        if m.start() > pos:
            out.append(fixed(text[pos:m.start()]))
        out.append(m.group(1))
        pos = m.end()
    if pos < len(text):
        out.append(fixed(text[pos:]))
    return tuple(out)


# --- the stream ---------------------------------------------------------------


@dataclass
class Event:
    index: int
    situation: int
    category: str
    start: datetime
    slots: dict[str, list[Piece]]
    centroid: np.ndarray
    line: int          # storyline: events of one situation told as one developing story
    line_pos: int


@dataclass
class Report:
    """One report of the stream, with what matome's stages would make of it."""

    n: int
    id: str
    event: Event
    source: str
    url: str
    title: str
    text: str
    published: datetime
    analysis_json: dict[str, Any]
    vector: np.ndarray
    copy_of: str | None = None   # the id of the report whose words it copies

    @property
    def analysis(self) -> Analysis:
        return Analysis.from_json(self.analysis_json)

    def record(self) -> dict[str, Any]:
        """The report as a line of JSONL (CONTRACT.md), as ``matome ingest`` reads it."""
        return {"id": self.id, "url": self.url, "title": self.title, "text": self.text,
                "published": self.published.isoformat(), "source": self.source, "lang": "ja"}


class Stream:
    """The synthetic news stream, reproducible from ``seed``, in publication order."""

    def __init__(self, per_day: int = 1000, seed: int = 16) -> None:
        self.per_day, self.seed = per_day, seed
        rng = np.random.default_rng(seed)
        self.sit_vec = _unit(rng.standard_normal((SITUATIONS, DIM)).astype(np.float32))
        py = random.Random(seed)
        cats = sorted(TOPICS_SPLIT)
        persons = [(s + g, s) for s in SURNAMES for g in GIVEN]
        py.shuffle(persons)
        self.sit: list[tuple[str, list[tuple[str, str, str]], list[str], list[str], list[str]]] = []
        for i in range(SITUATIONS):
            cat = cats[i % len(cats)]
            people = [(*persons[(i * 3 + k) % len(persons)], py.choice(ROLES[cat])) for k in range(3)]
            self.sit.append((cat, people, py.sample(ORGS, 3), py.sample(PLACES, 2),
                             py.sample(TOPICS_SPLIT[cat], 4)))
        weights = 1.0 / np.arange(1, SITUATIONS + 1) ** 0.8
        self.sit_cdf = np.cumsum(weights / weights.sum())
        self.gap = timedelta(days=REPORTS_MEAN * (1 + COPY_SHARE) / per_day)
        self._reset()

    def _reset(self) -> None:
        self._line_state: dict[int, tuple[int, int, int, datetime]] = {}  # sit -> line, pos, left, last
        self._lines = 0
        self.py = random.Random(self.seed + 1)  # every later draw, in stream order
        self.rng = np.random.default_rng(self.seed + 1)

    def reports(self, limit: int) -> Iterator[Report]:
        """The first ``limit`` reports, oldest first (ties by generation order).

        Events are made when the stream reaches their start, and every random
        draw happens in stream order, so a prefix never depends on ``limit``.
        """
        self._reset()  # each call starts the stream over
        heap: list[tuple[datetime, int, Any]] = []
        made = order = 0
        e = 0
        next_start = START
        copied: dict[tuple[int, int], Report] = {}  # originals whose copy is yet to come
        while made < limit:
            if not heap or heap[0][0] > next_start:
                for item in self._event(e, next_start):
                    heapq.heappush(heap, (item[0], order, item))
                    order += 1
                e += 1
                next_start = START + self.gap * e
                continue
            _, _, (published, ev, k, outlet, copy) = heapq.heappop(heap)
            if copy == "copy":
                orig = copied.pop((ev.index, k))
                name, host = OUTLETS[outlet]
                yield Report(made, f"syn{made:08d}", ev, name, _url(host, published, made), orig.title,
                             orig.text, published, orig.analysis_json, orig.vector, orig.id)
            else:
                report = self._report(made, ev, k, outlet, published)
                if copy == "copied":
                    copied[(ev.index, k)] = report
                yield report
            made += 1

    def _event(self, e: int, start: datetime) -> list[tuple[datetime, Event, int, int, str]]:
        py = self.py
        s = int(np.searchsorted(self.sit_cdf, py.random()))
        cat, people, orgs, places, topics = self.sit[s]
        line, pos = self._storyline(s, start)
        noise = self.rng.standard_normal(DIM).astype(np.float32)
        centroid = _unit(self.sit_vec[s] * 0.55 + noise / np.sqrt(DIM) * 0.85)
        day = start.date()
        person = people[py.randrange(3)]
        slots = {
            "P": [entity(person[0], "person"), fixed(person[2])],
            "Pn": [entity(person[0], "person")], "r": [fixed(person[2])],
            "Ps": [entity(person[0], "person", surname=person[1]), fixed("氏")],
            "O": [entity(orgs[py.randrange(3)], "organization")],
            "O2": [entity(py.choice(ORGS), "organization")],
            "L": [entity(places[py.randrange(2)], "place")],
            "L2": [entity(py.choice(PLACES), "place")],
            "K": [fixed(topics[py.randrange(4)])], "K2": [fixed(py.choice(TOPICS_SPLIT[cat]))],
            "D": [day_piece(day)], "D2": [day_piece(day + timedelta(days=py.randint(2, 20)))],
            "N": [figure(f"{'約' if py.random() < 0.4 else ''}{py.choice(VALUES)}{py.choice(UNITS)}")],
        }
        ev = Event(e, s, cat, start, slots, centroid, line, pos)
        n = min(8, int(self.rng.geometric(1 / 3)))
        outlets = py.sample(range(len(OUTLETS)), n + 1)
        out: list[tuple[datetime, Event, int, int, str]] = []
        for k in range(n):
            published = start + (timedelta(hours=min(40.0, py.expovariate(1 / 8))) if k else timedelta())
            if py.random() < COPY_SHARE:  # another outlet runs the same words minutes later
                out.append((published, ev, k, outlets[k], "copied"))
                out.append((published + timedelta(minutes=py.randint(5, 120)), ev, k, outlets[n], "copy"))
            else:
                out.append((published, ev, k, outlets[k], ""))
        return out

    def _storyline(self, s: int, start: datetime) -> tuple[int, int]:
        """A run of 1-8 events of one situation, quiet no more than 30 days, is one storyline."""
        state = self._line_state.get(s)
        if state is not None and state[2] > 0 and start - state[3] <= timedelta(days=30):
            line, pos, left, _ = state
            self._line_state[s] = (line, pos + 1, left - 1, start)
            return line, pos + 1
        self._lines += 1
        left = min(7, int(self.py.expovariate(1 / 1.2)))
        self._line_state[s] = (self._lines, 0, left, start)
        return self._lines, 0

    def _report(self, n: int, ev: Event, k: int, outlet: int, published: datetime) -> Report:
        py = self.py
        name, host = OUTLETS[outlet]
        named = [False]
        sentences = [_fill(t, ev.slots, named)
                     for t in [py.choice(LEADS), *py.sample(BODY, py.randint(9, 20))]]
        title_pieces = _fill(py.choice(TITLES), ev.slots, [True])
        noise = self.rng.standard_normal(DIM).astype(np.float32)
        vec = _unit(ev.centroid + noise / np.sqrt(DIM) * 0.3)
        title, text, analysis = compose(title_pieces, sentences, published)
        return Report(n, f"syn{n:08d}", ev, name, _url(host, published, n), title, text, published,
                      analysis, vec)


def _url(host: str, published: datetime, n: int) -> str:
    return f"https://{host}/news/{published:%Y%m%d}/{n:08d}"


def _fill(text: str, slots: dict[str, list[Piece]], named: list[bool]) -> list[Piece]:
    """A template filled with an event's pieces. A person is first named in full (「佐藤健司首相」),
    then by surname (「佐藤氏」): ``named`` says whether the report has named them yet."""
    out: list[Piece] = []
    for item in template(text):
        if isinstance(item, Piece):
            out.append(item)
            continue
        if item == "Ps" and not named[0]:
            item = "P"
        named[0] = named[0] or item in ("P", "Pn")
        out += slots[item]
    return out


def compose(title: list[Piece], sentences: list[list[Piece]],
            published: datetime) -> tuple[str, str, dict[str, Any]]:
    """Title, text and the analysis (as stored JSON) of a report made of pieces, as ``analyze``
    would give it: lemmas in text order, the head's lemmas (title and three sentences), mentions,
    dates and figures at their offsets, the event day (the latest day the lead names)."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    lemmas: list[str] = []
    head: set[str] = {lem for p in title for lem in p.lemmas}
    mentions: list[dict[str, Any]] = []
    quantities: list[dict[str, Any]] = []
    times: list[dict[str, Any]] = []
    days: list[date] = []
    latest = published.date() + timedelta(days=1)
    at = 0
    for i, pieces in enumerate(sentences):
        if i and i % 2 == 0:  # a paragraph every two sentences
            parts.append("\n")
            at += 1
        start = at
        for p in pieces:
            if p.lemmas:
                lemmas += p.lemmas
                if i < 3:
                    head.update(p.lemmas)
            for m in p.mentions:
                mentions.append(m | {"start": m["start"] + at, "end": m["end"] + at})
            for q in p.quantities:
                quantities.append(q | {"start": q["start"] + at, "end": q["end"] + at})
            if p.day is not None:
                iso = p.day.isoformat()
                times.append({"start": at, "end": at + len(p.text), "text": p.text, "kind": "date",
                              "value": f"XXXX-XX-{p.day.day:02d}", "mod": None, "resolved": iso,
                              "day": iso, "tz": None, "freq": None, "quant": None})
                if i < 2 and p.day <= latest:
                    days.append(p.day)
            parts.append(p.text)
            at += len(p.text)
        spans.append((start, at))
    text = "".join(parts)
    analysis = {
        "sentences": [{"start": s, "end": e, "text": text[s:e]} for s, e in spans],
        "lemmas": lemmas, "head_lemmas": sorted(head),
        "mentions": mentions, "event_days": [max(days).isoformat()] if days else [],
        "numbers": [q.pop("key") for q in quantities], "times": times, "quantities": quantities}
    return "".join(p.text for p in title), text, analysis


def _unit(m: np.ndarray) -> np.ndarray:
    norm = np.sqrt((m * m).sum(axis=-1, keepdims=True))
    return (m / norm).astype(np.float32)


def check_against_analyzer(reports: list[Report]) -> dict[str, tuple[float, float]]:
    """Mean (synthetic, real analyzer) of each analysis' sizes over ``reports``: the shape check."""
    import json

    from matome.language import analyze
    from matome.records import Article

    gaz = analyze.gazetteer()
    rows: dict[str, tuple[list[float], list[float]]] = {
        k: ([], []) for k in ("sentences", "lemmas", "head lemmas", "mentions", "times",
                              "figures", "JSON bytes", "same entity keys")}
    for r in reports:
        real = analyze.analyze(Article(r.id, r.url, r.title, r.text, r.source, "ja", r.published), gaz)
        for name, an in (("syn", r.analysis), ("real", real)):
            i = 0 if name == "syn" else 1
            rows["sentences"][i].append(len(an.sentences))
            rows["lemmas"][i].append(len(an.lemmas))
            rows["head lemmas"][i].append(len(an.head_lemmas))
            rows["mentions"][i].append(len(an.mentions))
            rows["times"][i].append(len(an.times))
            rows["figures"][i].append(len(an.quantities))
            rows["JSON bytes"][i].append(len(json.dumps(an.to_json())))
        syn_keys = {m.key for m in r.analysis.mentions}
        real_keys = {m.key for m in real.mentions}
        both = len(syn_keys & real_keys) / max(1, len(syn_keys | real_keys))
        rows["same entity keys"][0].append(both)
        rows["same entity keys"][1].append(1.0)
    return {k: (float(np.mean(a)), float(np.mean(b))) for k, (a, b) in rows.items()}
