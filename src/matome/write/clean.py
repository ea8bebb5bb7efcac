"""Which source sentences a writer may use, and the part of each it cites.

A sentence of a report is cited verbatim, so cleaning never rewrites it: it
only chooses where the cited span starts, past what belongs to the page
rather than to the fact —

- a dateline, byline or label (【ワシントン＝山田太郎】, （ワシントン共同）,
  【ロイター】, (ブルームバーグ):, 【速報】, ◆, ＊ ＊ ＊);
- a photo caption glued to the sentence (「…が誕生した＝21日午後1時47分」
  then the sentence), a time stamp and section label of the page
  (「2026年1月27日(火) 12:12 国内」, 「拡大する」), a heading glued on
  with a space;

— or leaves it out: boilerplate, a sentence that starts with a particle
(extraction broke it), a bare quote with no speaker, a question, a heading
or caption without an end, and anything too short or too long to be a fact.

``tense`` tells a preview's sentence (「…を開きます」「…する予定だ」) from an
outcome's (「…を決めた」), so that once an event's outcome is reported the
writer tells the outcome.
"""

from __future__ import annotations

import re
from functools import lru_cache

from matome.language import textja
from matome.write import lint

MIN_CHARS, MAX_CHARS = 12, 220

_WIRES = (r"共同|時事|ロイター|ＡＦＰ|AFP|ＡＰ|AP|新華社|聯合|ブルームバーグ|Bloomberg|Reuters|"
          r"ＣＮＮ|CNN|ＢＢＣ|BBC")
# Openings that belong to the page, not the fact; removed one after another.
_PREFIXES = [re.compile(p) for p in (
    r"^【[^】]{1,24}】",                                    # 【ワシントン＝山田太郎】【速報】【ロイター】
    r"^[（(][^（）()]{0,16}(?:" + _WIRES + r")[^（）()]{0,6}[）)]\s*[:：]?",   # （ワシントン共同）
    r"^[（(][^（）()]{1,16}[＝=][^（）()]{1,12}[）)]",          # （ワシントン＝山田太郎）
    r"^[（(][^（）()]{0,16}(?:撮影|提供|写す)[）)]",   # a photo credit: （代表撮影）（防衛省提供）
    r"^[\[［＜〈《][^\]］＞〉》]{1,16}[\]］＞〉》]",             # [速報] ＜独自＞
    r"^[◆◇■□●○▼▽▲△★☆※◎◯・♦︎]+\s*",                       # bullets and markers
    r"^(?:[＊*]\s*){2,}",                                    # ＊ ＊ ＊ (section break)
    r"^[^。、「」]{1,20}[＝=]\s*(?:" + _WIRES + r")\s*[】）)]?\s*",   # ワシントン＝共同
)]
# A page's time stamp, optionally followed by a short section label (「12:12 国内 」).
_STAMP = re.compile(r"^.{0,60}?\d{1,2}[:：]\d{2}(?:\s+[^\s。、「」]{1,8})?\s+(?=\S)")
# A photo caption that ends at 「＝<day and time>」; what follows it is the sentence.
_N = r"(?:\d{1,2}|[０-９]{1,2})"
_CAPTION = re.compile(r"^[^。「」]{4,80}?[＝=]" + _N + r"日(?:午前|午後|夜|朝|夕方?|未明|深夜|早朝)?"
                      r"(?:" + _N + r"時(?:" + _N + r"分)?)?(?:ごろ|頃)?")
# A caption that ends in its picture's credit (「…が見える（JAXAの資料から）昨年、…」): the
# credit says where the caption ends, so what follows it is the sentence
_CREDITED_CAPTION = re.compile(r"^[^。「」（）()]{4,80}?[（(][^（）()]{0,16}"
                               r"(?:撮影|提供|写す|(?:資料|映像|画像|写真|動画)(?:から|より))[）)]")
_CAPTION_AFTER = re.compile(r"^[、,][^。]{1,20}?(?:[（(][^）)]{1,12}写す[）)])")
_SPOKEN = re.compile(r"^[（(][^（）()]{1,16}[）)]\s*「[^「」]*」\s*")
_PAGE_WORDS = re.compile(r"^(?:拡大する|拡大|写真|動画|画像|ギャラリー)\s+")
_END_JA = ("。", "」", "』", "）", ")", "！", "!")
# A heading's marker (■ Section), and a quote closed straight onto a word, no particle or stop
# between: in a text that lost its line breaks, where a marked heading ends and the sentence begins
_MARKED_HEADING = re.compile(r"^[■◆◇□●▼▽]")
_GLUED_QUOTE = re.compile(r"[」』”][^\sとのをにがはもでやかへ、。，,.．・！？!?」』）)「『（(“”]")
# A sentence ends with its stop; a quote closing without one inside it ends a heading.
_HEADING_QUOTE = re.compile(r"[^。！？!?][」』]$")


# A broadcast transcript's line: the speaker, a colon, then their words without quote marks
# (「小泉防衛相：自衛隊機は…主張はあたりません。」): a remark, not the report's own statement
_TRANSCRIPT = re.compile(r"^[^、。「」：:\s]{1,20}(?:相|代表|首相|総理|大臣|長官|知事|市長|町長|村長|"
                         r"社長|会長|総裁|委員長|議長|報道官|幹事長|氏|さん)"
                         r"(?:[（(][^（）()]{1,16}[）)])?\s*[：:]")


def transcript(text: str) -> bool:
    """Whether a sentence is a transcript's line, 「話者：発言」."""
    return _TRANSCRIPT.match(text) is not None


@lru_cache(maxsize=65536)   # every format of a story, and every story of a storyline, asks again
def cited_span(text: str, lang: str = "ja") -> str | None:
    """The part of the source sentence ``text`` a writer may cite (a substring of it), or None
    when no part of it is a usable sentence of the report."""
    t = text.strip()
    if lint.boilerplate(t):
        return None
    if _MARKED_HEADING.match(t) and _GLUED_QUOTE.search(t):
        return None   # 「■小泉防衛相、中国メディアに“反論”慌ただしく備える…」: a heading run into a sentence
    for _ in range(4):   # a label, then a dateline, then a stamp …
        before = t
        for pat in _PREFIXES:
            t = pat.sub("", t, count=1).lstrip(" 　:：")
        if m := _STAMP.match(t):
            t = t[m.end():]
        if m := _CAPTION.match(t):
            rest = t[m.end():]
            if (after := _CAPTION_AFTER.match(rest)) is not None:
                rest = rest[after.end():]
            elif rest.startswith(("、", ",")):
                return None   # 「＝27日午後、東京都中央区週明け…」: where the place ends is unknown
            t = rest.lstrip(" 　")
        if (m := _CREDITED_CAPTION.match(t)) and not lint.particle_start(t[m.end():]):
            t = t[m.end():].lstrip(" 　")
        t = _PAGE_WORDS.sub("", t)
        if (m := _SPOKEN.match(t)) and not lint.particle_start(t[m.end():]):
            t = t[m.end():]   # 「（衆議院議長）「…」21日、…」: a transcribed remark, then the sentence
        if t == before:
            break
    if lang == "ja":
        if _HEADING_QUOTE.search(t) and not t.startswith(("「", "『")):
            return None   # a heading with a quote in it: 「日銀 政策金利の維持を決定 長期金利上昇は「…」」
        t = _after_glued_heading(t)
        if not t.endswith(_END_JA):
            return None   # headings, captions and bylines are not sentences
    if not (MIN_CHARS <= len(t) <= MAX_CHARS):
        return None
    if t.rstrip("。").endswith(("…", "...", "‥")) or _unbalanced(t):
        return None   # a teaser (「決定づけたのは…。」) or a quote cut open
    if lang == "ja" and _caption_like(t):
        return None
    if lint.boilerplate(t) or lint.particle_start(t) or lint.question(t) or lint.bare_quote(t):
        return None
    return t


def _unbalanced(t: str) -> bool:
    return any(t.count(o) != t.count(c) for o, c in (("「", "」"), ("『", "』"), ("（", "）"), ("(", ")")))


def _caption_like(t: str) -> bool:
    """A noun phrase with a stop, as photo captions are (「…から打ち上げられたH3ロケット8号機。」):
    it ends on a noun and names no subject, topic or object at its top level."""
    tokens = [x for x in textja.tokenize(t.rstrip("。")) if x.pos[0] not in {"補助記号", "空白"}]
    if not tokens or tokens[-1].pos[0] not in {"名詞", "接尾辞"}:
        return False
    depth = 0
    for x in textja.tokenize(t):
        if x.surface in "「『（(":
            depth += 1
        elif x.surface in "」』）)":
            depth = max(0, depth - 1)
        elif depth == 0 and x.pos[0] == "助詞" and x.surface in {"は", "が", "も", "を"}:
            return False
    return True


def _after_glued_heading(t: str) -> str:
    """The sentence after a heading glued on with a space (「大分市佐賀関の大規模火災 大分市佐賀関で…」):
    the part after the last space outside brackets, when what comes before has no comma or stop
    of its own, that is, it is a heading rather than a clause."""
    depth, cut = 0, -1
    for i, c in enumerate(t):
        if c in "「『（(【":
            depth += 1
        elif c in "」』）)】":
            depth = max(0, depth - 1)
        elif c in " 　" and depth == 0:
            cut = i
    if cut < 0:
        return t
    head, rest = t[:cut], t[cut + 1:].lstrip(" 　")
    if len(rest) < MIN_CHARS or (re.search(r"[、。]", head) and not head.endswith("」")):
        return t
    return rest


# --- preview or outcome -----------------------------------------------------------------

_FUTURE_END = re.compile(r"(?:予定|見通し|見込み|方針|計画|意向|公算|運び)"
                         r"(?:だ|です|である|となっている|になっている)?$"
                         r"|へ$|(?:する|します|される|されます)(?:こと)?(?:になる|になります)$")
_STATE_VERBS = {"居る", "有る", "成る", "言う", "見る", "出来る", "思う", "考える", "分かる", "違う"}
_VOICE = {"れる", "られる", "せる", "させる"}


@lru_cache(maxsize=65536)
def tense(text: str) -> str:
    """"past" (an outcome: 「…を決めた」), "future" (a preview: 「…を開きます」「…する予定だ」)
    or "other" (a state, a hedge, a quote, a noun-stop)."""
    t = text.rstrip("。！!）)」』 　")
    if _FUTURE_END.search(t):
        return "future"
    tokens = [x for x in textja.tokenize(t[-24:]) if x.pos[0] not in {"補助記号", "空白"}]
    if not tokens:
        return "other"
    if tokens[-1].lemma == "た":
        return "past"
    i = len(tokens) - 1
    if tokens[i].lemma == "ます":
        i -= 1
    while i > 0 and tokens[i].pos[0] == "助動詞" and tokens[i].lemma in _VOICE:
        i -= 1
    main = tokens[i]
    if main.pos[0] != "動詞" or main.lemma in _STATE_VERBS:
        return "other"   # a copula, a noun-stop, 「…している」, 「…という」, 「…とみられる」
    return "future"
