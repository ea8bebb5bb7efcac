"""What a reader must never see in a written article, as checks the writer and the bench share.

Each check looks at published text only, so the same function keeps a
sentence out when the writer picks its candidates (``toolkit``), repairs
what reaches verification, and counts what slipped through in
``bench/real_eval.py`` and the tests:

- ``boilerplate``: page furniture that is not a fact of the report — credit
  lines (All Nippon NewsNetwork(ANN), 写真：…, 提供：…, ©), captions,
  navigation (関連記事, 続きを読む), affiliate and ad lines (Amazonで見る,
  【PR】), URLs, notes about the article itself (この記事は後で更新します);
- ``particle_start``: a sentence that begins with a particle, an auxiliary,
  a suffix or punctuation (「は、ファイザーや…」) — the tail of a sentence
  that extraction broke;
- ``bare_quote``: 「…」 with no one named as its speaker;
- ``similarity`` / ``near_duplicates``: two sentences that say the same
  thing (character-bigram containment, see ``NEAR_DUPLICATE``);
- ``headline_problems``: an empty 見出し, one over the limit, one ending in
  「。」 or 「…」, one that is a cut sentence (「…を受け」, 「…の」).

``lint_written`` applies them all to what a page shows of one article.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from matome.language import nfkc, textja
from matome.records import Written

# Two sentences are the same statement when this share of the shorter one's character bigrams
# (letters and digits only, attribution removed) is in the other. Chosen by cross-validation
# over events on 103 hand-labelled sentence pairs of the real set, every fold picking 0.35
# (held-out P .69 / R .71, weighted to the set's pairs; at 0.6, R was .22): bench/dup_eval.py.
NEAR_DUPLICATE = 0.35
HEADLINE_MAX = 40

_BOILERPLATE = [re.compile(p, re.IGNORECASE) for p in (
    # credit lines, photo and video captions
    r"All Nippon News ?Network|Powered by JNN|^\W*(?:ANN|JNN|FNN|NNN|TXN)\W*$",
    r"^(?:写真|画像|動画|映像|提供|出典|撮影|イラスト|図表|グラフ|資料|キャプション)\s*[:：＝=|｜]",
    r"[（(](?:写真|撮影|提供|画像)[^）)]{0,20}[）)]\s*$|写す[）)]|[＝=]\s*(?:撮影|提供|写真|代表撮影)",
    r"(?:写真|画像)は(?:イメージ|資料|本文と関係)|(?:写真|画像)[:：]\s*\S|イメージ写真",
    r"©|Ⓒ|\(c\)\s*\w|（c）|copyright|無断転載|無断複製|all rights reserved|転載禁止",
    r"\bfile photo\b|\bphoto:|getty images|\bap photo\b|\b(?:is|are) (?:seen|pictured|shown) "
    r"(?:in|at|on|during)\b|\breporting by\b|\bediting by\b",
    # navigation and the page talking about itself
    r"関連記事|関連ニュース|関連リンク|次のページ|前のページ|続きを読む|記事一覧|一覧を見る|をもっと見る|"
    r"トップページ|ホームに戻る|この記事をシェア|シェアする|ツイートする|ブックマークする|コメントを(?:書く|見る)|"
    r"拡大する|画像を拡大|写真を拡大|動画はこちら|会員登録|ログインして|有料会員|会員限定|読者会員|"
    r"\bsign up\b|\bsubscribe\b|\bclick here\b|\bread more\b|\badvertisement\b",
    r"^[＊*※]?\s*この記事は.{0,24}(?:更新|追記|修正)(?:します|しました|予定)|この記事では|本記事では|"
    r"(?:追加|追記|修正|差し替え)して更新|詳しく解説します|続報が入り次第|以下の通り[。）)]?$|^▼|^↓|[>＞]{2}",
    # affiliate and advertising lines
    r"(?:amazon|アマゾン|楽天市場?|yahoo!?ショッピング|公式サイト|公式ストア)(?:で|から|にて)"
    r"(?:見る|購入|買う|チェック|探す|詳細)",
    r"アフィリエイト|アソシエイト|スポンサーリンク|sponsored|[【［\[（(]\s*pr\s*[】］\]）)]|^\s*pr\s*$|"
    r"^\s*広告\s*$|広告を含みます|(?:購入|詳細|詳しく|お申し込み|ダウンロード)は(?:こちら|コチラ)|"
    r"こちらをクリック|送料無料|税込\s*[¥￥\d]|価格\s*[:：]\s*[¥￥\d]",
    # links
    r"https?://|www\.[a-z0-9-]+\.",
)]


def boilerplate(text: str) -> str | None:
    """The pattern ``text`` matches when it is page furniture rather than a sentence of the report."""
    folded = nfkc(text)
    for pat in _BOILERPLATE:
        if m := pat.search(folded):
            return m.group(0)
    return None


# what may not open a sentence: closing brackets, commas, stops, a prolonged-sound mark
_BAD_FIRST = set("、。，．,.・」』）)】〕］]》〉ー～〜!！?？:：;；ぁぃぅぇぉっゃゅょゎ")


def particle_start(text: str) -> bool:
    """Whether ``text`` begins with punctuation, or with a particle, auxiliary or suffix in kana:
    the tail of a sentence extraction broke (「は、ファイザーや…」)."""
    t = text.lstrip(" 　\t")
    if not t:
        return True
    if t[0] in _BAD_FIRST:
        return True
    if not "\u3041" <= t[0] <= "\u309f":   # a kanji, katakana or Latin opening is a word
        return False
    first = textja.tokenize(t[:16])
    return bool(first) and first[0].pos[0] in {"助詞", "助動詞", "接尾辞"}


_QUOTE = re.compile(r"「[^「」]*」|『[^『』]*』")
_SPEAKER_PARTICLES = {"は", "が", "も", "によると", "によれば", "によりますと", "として"}


def bare_quote(text: str) -> bool:
    """Whether ``text`` is a 「quote」 whose speaker it does not name (「1年勝負。すべて僕の責任」)."""
    if "「" not in text and "『" not in text:
        return False
    rest = text
    while True:   # innermost quotes first, so 「…『…』…」 goes as a whole
        shorter = _QUOTE.sub("", rest)
        if shorter == rest:
            break
        rest = shorter
    rest = rest.strip(" 　。、と」）)").strip()
    if len(rest) <= 2:
        return True
    tokens = textja.tokenize(rest)
    for i, t in enumerate(tokens):
        if t.pos[0] == "名詞" and t.pos[1] == "固有名詞":
            return False
        nxt = tokens[i + 1].surface if i + 1 < len(tokens) else ""
        if t.pos[0] in {"名詞", "接尾辞"} and nxt in _SPEAKER_PARTICLES:
            return False
    return True


def question(text: str) -> bool:
    """A question (rhetorical or not) states no fact: 「…はなぜ行われたのか。」"""
    t = text.rstrip("。」』）) 　")
    return t.endswith(("か", "？", "?", "でしょうか", "だろうか"))


# --- near duplicates -----------------------------------------------------------------

_ATTRIBUTED = re.compile(r"^[^、。「」]{1,24}(?:によると|によれば|によりますと)、")


@lru_cache(maxsize=4096)
def _bigrams(text: str) -> frozenset[str]:
    """Character bigrams of Japanese text (letters and digits, its attribution left out); word
    bigrams of text in a Latin script, where two letters say nothing (uncalibrated there)."""
    folded = nfkc(_ATTRIBUTED.sub("", text)).lower()
    if not textja.is_japanese(folded):
        words = re.findall(r"\w+", folded)
        return frozenset(f"{a} {b}" for a, b in itertools.pairwise(words))
    t = "".join(c for c in folded if c.isalnum())
    return frozenset(t[i:i + 2] for i in range(len(t) - 1))


def similarity(a: str, b: str) -> float:
    """Share of the shorter sentence's character bigrams that the other one has (0..1)."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / min(len(x), len(y))


def near_duplicate(a: str, b: str, threshold: float = NEAR_DUPLICATE) -> bool:
    return similarity(a, b) >= threshold


def near_duplicates(texts: Sequence[str], threshold: float = NEAR_DUPLICATE) -> list[tuple[int, int]]:
    """Index pairs of ``texts`` that say the same thing."""
    return [(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))
            if near_duplicate(texts[i], texts[j], threshold)]


# --- headlines ------------------------------------------------------------------------

_OPENERS, _CLOSERS = "「『（(【［[", "」』）)】］]"
# particles a headline may end on: 「…へ」「…か」「…も」「10月から」「…など」「約1.8倍に」「衆院選で」
_FINAL_PARTICLES = {"へ", "か", "も", "から", "まで", "など", "のみ", "だけ", "ほど", "や", "に", "で"}
# verbs that only join two phrases: a headline ending on one was cut (「…を受け」「…をめぐり」)
_DANGLING = re.compile(r"(?:を|に|と)(?:受け|うけ|めぐり|巡り|通じ|含め|除き|経|伴い|対し|関し|際し|基づき|"
                       r"加え|比べ|向け|よると|より|おいて|ついて|とって)$|(?:ており|ながら|つつ|ものの|"
                       r"うえで|上で)$")
_EN_FUNCTION = {"a", "an", "the", "of", "on", "to", "for", "after", "before", "with", "and", "or",
                "in", "at", "by", "from", "as", "into", "amid", "about", "than", "its", "their"}


def _kana_or_kanji(c: str) -> bool:
    return "\u3041" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff"


def cut_headline(text: str) -> bool:
    """Whether ``text`` reads as a sentence cut short rather than a headline."""
    t = text.strip()
    if not t:
        return False
    if t.endswith(("…", "...", "‥", "、", "，", ",", "・", "：", ":", "＝", "=")) or t[-1] in _OPENERS:
        return True
    if any(t.count(o) != t.count(c) for o, c in zip(_OPENERS, _CLOSERS, strict=True)):
        return True
    if not textja.is_japanese(t) and not _kana_or_kanji(t[-1]):
        words = re.findall(r"[A-Za-z0-9']+", t)
        return bool(words) and words[-1].lower() in _EN_FUNCTION
    if _DANGLING.search(t):
        return True
    tokens = [x for x in textja.tokenize(t) if x.pos[0] not in {"補助記号", "空白"}]
    if not tokens:
        return True
    last = tokens[-1]
    if last.pos[0] == "助詞":
        return last.surface not in _FINAL_PARTICLES
    # a verb or auxiliary in its joining form: 「…を発表し」「…とされ」 (not 「…を引き上げ」, a noun,
    # nor 「…と明らかに」)
    form = last.pos[5] if len(last.pos) > 5 else ""
    if last.lemma == "だ" and len(tokens) > 1 and tokens[-2].pos[0] == "形状詞":
        return False
    return last.pos[0] in {"動詞", "助動詞"} and form.startswith("連用形") and last.lemma in {
        "為る", "れる", "られる", "せる", "させる", "居る", "成る", "有る", "ます", "だ", "です"}


def headline_problems(text: str, limit: int = HEADLINE_MAX) -> list[str]:
    """What is wrong with a 見出し (or サブ見出し): empty, too long, ends in 「。」/「…」, cut."""
    t = text.strip()
    if not t:
        return ["empty"]
    out = []
    if len(t) > limit:
        out.append("too long")
    if t.endswith(("。", "…", "...", "‥")):
        out.append("ends in 。/…")
    if cut_headline(t):
        out.append("cut")
    return out


# --- one article as a reader sees it ---------------------------------------------------

POINT_SECTIONS = {"要点", "要約", "ポイント"}   # bullets: a quote there must name its speaker
POINT_KINDS = {"point", "takeaway"}


def shown(w: Written) -> list[tuple[str, str]]:
    """(section, text) of every sentence a page shows of ``w``: the lead (unless, as in a brief,
    【概要】 opens with it and the page shows it once; an explainer's page shows none) and every
    section's sentences."""
    out: list[tuple[str, str]] = []
    first = w.sections[0].sentences if w.sections and w.sections[0].sentences else []
    if w.lead and w.format != "explainer" and not (first and w.lead.startswith(first[0].text)):
        out += [("リード", c.quote) for c in w.lead_citations] or [("リード", w.lead)]
    for sec in w.sections:
        for s in sec.sentences:
            point = sec.name in POINT_SECTIONS or s.kind in POINT_KINDS
            out.append(("要点" if point else sec.name, s.text))
    return out


LINTS = ("boilerplate", "particle start", "bare quote as 要点", "near duplicate")
HEADLINE_LINTS = ("empty headline", "headline too long", "headline ends in 。/…", "cut headline",
                  "empty subheadline")


def lint_written(w: Written, limit: int = HEADLINE_MAX) -> tuple[Counter[str], list[tuple[str, str]]]:
    """Counts of each problem in what a page shows of ``w`` (``sentences``: how many it shows),
    and the offending (problem, text) pairs."""
    counts: Counter[str] = Counter()
    found: list[tuple[str, str]] = []
    sentences = shown(w)
    counts["sentences"] = len(sentences)

    def hit(problem: str, text: str) -> None:
        counts[problem] += 1
        found.append((problem, text))

    for section, text in sentences:
        if boilerplate(text):
            hit("boilerplate", text)
        if particle_start(text):
            hit("particle start", text)
        if section == "要点" and bare_quote(text):
            hit("bare quote as 要点", text)
    texts = [t for _, t in sentences]
    for i, j in near_duplicates(texts):
        hit("near duplicate", f"{texts[i]} ≈ {texts[j]}")
    names = {"empty": "empty headline", "too long": "headline too long",
             "ends in 。/…": "headline ends in 。/…", "cut": "cut headline"}
    for problem in headline_problems(w.headline, limit):
        hit(names[problem], w.headline)
    for problem in headline_problems(w.subheadline, limit):
        hit("empty subheadline" if problem == "empty" else "サブ見出し: " + names[problem], w.subheadline)
    return counts, found


def summarize(counts: Iterable[Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return total
