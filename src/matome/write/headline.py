"""見出し and サブ見出し: Japanese news headlines, traceable to a report, never a cut sentence.

FORMATS.md: a 見出し is short enough for a list (aim ≤ 30 characters,
hard limit 40) and a サブ見出し adds the second fact. Both come from the
story's reports, in this order:

1. a report's own title when it already is a headline — within the limit,
   no 「。」, not cut (``lint.cut_headline``) — with a leading label
   (【速報】) dropped; or its first phrase when the title is phrases joined by
   spaces (「日銀 政策金利の維持を決定 長期金利…」 → 「日銀 政策金利の維持を決定」);
2. else a lead sentence compressed the way a desk writes a headline: the
   dateline, parentheses and the day (「23日、」) go, a closing attribution
   (「…と発表した」「…ことが分かった」「…との認識を示した」) goes, the topic
   「は」 becomes 「、」, and the predicate takes the headline's form — a
   noun-stop for a verbal noun (「決定した」→「決定」), the plain form
   otherwise (「決めた」→「決める」, 「選ばれました」→「選ばれる」); when that is
   still too long, the subject and the last clause are kept.

Once the story has an outcome, only its outcome reports are drawn on: a
preview's 「…を行います」 is never the headline of what happened. Every word
of a compressed headline is a word of the sentence it came from, so
verification finds it in that report (``verify``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from matome.language import textja
from matome.records import Article
from matome.write import clean, lint

_LABEL = re.compile(r"^(?:【[^】]{1,16}】|\[[^\]]{1,16}\]|＜[^＞]{1,16}＞|［[^］]{1,16}］)\s*")
_PARENS = re.compile(r"[（(][^（）()「」]{0,24}[）)]")
_N = r"(?:\d{1,2}|[０-９]{1,2})"
_DAY = (r"(?:\d{4}年|[０-９]{4}年)?(?:" + _N + r"月)?" + _N
        + r"日(?:午前|午後|夜|朝|夕方?|未明|深夜|早朝|昼)?"
        + r"(?:" + _N + r"時(?:半|" + _N + r"分)?(?:ごろ|頃|過ぎ|すぎ)?)?")
_DAY_COMMA = re.compile(r"(?<![月\d０-９、,〜～・])" + _DAY + r"(?:に|には)?、")
_TOPIC_DAY = re.compile(r"は" + _DAY + r"(?:に|には)?、")
_LEADING_WHEN = re.compile(r"^(?:(?:きょう|きのう|けさ|今日|昨日|週明け|週末)(?:の|、)?)?"
                           r"(?:" + _DAY + r")?(?:の|、)(?=\S{6})")
# A closing attribution or report verb: the fact is what comes before it.
# Only the outlet's own 「…ことが分かった」 goes: a source's 「…と発表した」 stays (as 「…と発表」), or
# the headline would give the source's words as its own deed (「文科省、打ち上げに失敗」).
_FOUND = r"分かった|わかった|明らかになった|判明した|判明しました|分かりました|わかりました"
_TAILS = [
    (re.compile(r"ことが(?:(?:関係者への取材|取材|調べ)で)?(?:" + _FOUND + r")$"), ""),
    (re.compile(r"との(?:認識|考え|見方|推定|見解|姿勢)を(?:改めて)?(?:示した|示しました|明らかにした)$"),
     ""),
    (re.compile(r"(方針|意向|考え|見通し)を(?:固めた|示した|示しました|明らかにした|決めた)$"), r"\1"),
]
# A title written as a sentence rather than a headline.
_SENTENCE_END = re.compile(r"(?:ました|でした|です|ます|ている|ていた|した|った|だった|れた|けた|めた|えた|"
                           r"いた|だ|。)$")
_SUBJECT_SPAN = 24   # the topic 「は」 must come this early to be the subject of the headline


def _strip_end(t: str) -> str:
    return t.rstrip("。．. 　")


def _dictionary_form(tok: textja.Token) -> str | None:
    """The plain (dictionary) form of a verb, adjective or auxiliary in its joining form."""
    ctype = tok.pos[4] if len(tok.pos) > 4 else ""
    form = tok.pos[5] if len(tok.pos) > 5 else ""
    s = tok.surface
    if form.startswith("終止形") or form.startswith("連体形"):
        return s
    if tok.pos[0] == "助動詞":
        return tok.lemma if tok.lemma in {"れる", "られる", "せる", "させる", "ない"} else None
    if tok.pos[0] == "形容詞" and s.endswith("かっ"):
        return s[:-2] + "い"
    if ctype.startswith("五段-"):
        row = ctype.split("-", 1)[1].removesuffix("行")
        ending = {"カ": "く", "ガ": "ぐ", "サ": "す", "タ": "つ", "ナ": "ぬ", "バ": "ぶ", "マ": "む",
                  "ラ": "る", "ワア": "う", "ワ": "う", "ア": "う"}.get(row)
        return s[:-1] + ending if ending and len(s) > 1 else None
    if "一段" in ctype and form.startswith(("連用形", "未然形")):
        return s + "る"
    if ctype == "サ行変格":
        return "する"
    if ctype.startswith("カ行変格"):
        return s[:-1] + "来る" if s.endswith("来") else "来る"
    return None


def _verbal_noun(tok: textja.Token) -> bool:
    return tok.pos[0] == "名詞" and len(tok.pos) > 2 and tok.pos[2] == "サ変可能"


def _headline_predicate(tokens: list[textja.Token]) -> list[str] | None:
    """The surfaces of a clause with its predicate in headline form, or None when it has none."""
    toks = [t for t in tokens if t.pos[0] != "空白"]
    while toks and toks[-1].pos[0] == "補助記号" and toks[-1].surface not in "」』）)":
        toks.pop()
    # tense, politeness and the copula go: 「決めた」「行いました」「自宅だ」「方針です」「措置である」
    while toks and toks[-1].pos[0] == "助動詞" and toks[-1].lemma in {"た", "ます", "です", "だ"}:
        toks.pop()
    if len(toks) >= 2 and toks[-1].lemma == "有る" and toks[-2].surface == "で":
        toks = toks[:-2]
    # 「…している」「…しています」: the plain form of the verb it follows
    if len(toks) >= 2 and toks[-1].lemma == "居る" and toks[-2].surface in {"て", "で"}:
        toks = toks[:-2]
    if not toks:
        return None
    last = toks[-1]
    words = [t.surface for t in toks]
    if last.pos[0] == "動詞" and last.lemma == "為る" and len(toks) >= 2 and _verbal_noun(toks[-2]):
        return words[:-1]   # 「決定した」→「決定」: a verbal noun ends a headline
    if last.lemma == "為る" and len(toks) >= 3 and toks[-2].surface == "に" and toks[-3].pos[0] == "形状詞":
        return words[:-1]   # 「…と明らかにした」→「…と明らかに」
    if last.lemma == "為る" and len(toks) >= 3 and toks[-2].surface == "を" and _verbal_noun(toks[-3]):
        return words[:-2]   # 「不開示決定をした」→「不開示決定」
    if last.lemma in {"れる", "られる"} and len(toks) >= 3 and toks[-2].lemma == "為る" \
            and _verbal_noun(toks[-3]):
        return words[:-2]   # 「選出された」→「選出」: so does a passive one
    if last.pos[0] in {"動詞", "助動詞", "形容詞"}:
        plain = _dictionary_form(last)
        if plain is None:
            return None
        return [*words[:-1], plain]
    return words


def _topic_to_comma(words: list[str], tokens: list[textja.Token]) -> tuple[list[str], str | None]:
    """「日銀は…」→「日銀、…」: the topic 「は」 set off by a comma (「…について、県警は、火元は…」),
    else the first one after a noun, early in the clause; and the word before it."""
    early = None
    depth = pos = 0
    for i, t in enumerate(tokens[: len(words) - 1]):
        if t.surface in "「『（(":
            depth += 1
        elif t.surface in "」』）)":
            depth -= 1
        elif depth == 0 and t.surface == "は" and t.pos[1] == "係助詞" and i > 0 \
                and tokens[i - 1].pos[0] in {"名詞", "接尾辞"}:
            if len("".join(words[i + 1:])) < 4:
                continue   # 「批判は強い」: too little follows for 「批判、強い」
            if words[i + 1] == "、":
                return [*words[:i], *words[i + 1:]], words[i - 1]
            if early is None and pos <= _SUBJECT_SPAN:
                early = i
        pos += len(t.surface)
    if early is None:
        return words, None
    return [*words[:early], "、", *words[early + 1:]], words[early - 1]


def _clauses(text: str) -> list[str]:
    """``text`` split after each top-level 「、」 (not inside brackets)."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "「『（(":
            depth += 1
        elif c in "」』）)":
            depth = max(0, depth - 1)
        elif c == "、" and depth == 0:
            out.append(text[start:i + 1])
            start = i + 1
    out.append(text[start:])
    return [c for c in out if c]


@lru_cache(maxsize=16384)   # each format of a story tries the same sentences
def compress(sentence: str, limit: int = lint.HEADLINE_MAX) -> str | None:
    """A headline made of the words of ``sentence``, or None when it does not make one."""
    t = clean.cited_span(sentence) or sentence
    t = _strip_end(t)
    if not textja.is_japanese(t) or clean.transcript(t):
        return None   # a speaker's words are not what the report states
    t = _PARENS.sub("", t)
    t = _TOPIC_DAY.sub("は、", t)   # 「県警は11日、火元は…」: the comma keeps the subject's 「は」 apart
    t = _DAY_COMMA.sub("", t)
    for pat, repl in _TAILS:
        t = pat.sub(repl, t)
    t = _LEADING_WHEN.sub("", t).strip("、 　")
    if len(t) < 6:
        return None
    tokens = textja.tokenize(t)
    words = _headline_predicate(tokens)
    if words is None:
        return None
    words, topic = _topic_to_comma(words, tokens)
    head = _subject_first("".join(words).strip("、 　"), topic)
    if len(head) > limit:
        head = _shorter(head, topic)
    if len(head) > limit:
        head = _speaker_quote(head, topic) or head
    head = head.strip("、 　")
    if not 6 <= len(head) <= limit or lint.headline_problems(head, limit) or lint.particle_start(head) \
            or _ANAPHORA.match(head) or _OPENS_ON_DAY.match(head) or _points_back(head):
        return None
    return head


_POINTERS = frozenset({"この", "その", "あの", "こんな", "そんな", "あんな", "こうした", "そうした",
                       # pronouns that point back; 何 (何らかの要因), 誰, 私 do not
                       "これ", "それ", "あれ", "ここ", "そこ", "あそこ", "こちら", "そちら", "これら",
                       "それら", "彼", "彼女", "彼ら"})
_SAME_AS_BEFORE = re.compile(r"同[社省日氏国市県庁党局署町村大校店紙機船行会]|その後|同年|同月")


def _points_back(head: str) -> bool:
    """Whether a headline points back to a sentence it was cut from (「今回、それが公に」「JAXA、
    その後の状況を確認」「そんな…商品がある」): a pronoun, a demonstrative or a 「同社」 says
    nothing on a list of headlines."""
    return any((t.pos[0] in {"代名詞", "連体詞"} and t.surface in _POINTERS)
               or _SAME_AS_BEFORE.fullmatch(t.surface) for t in textja.tokenize(head))


# 「２５日午後に開催された…会合で報告」: a headline opens on who or what, never on when; one that
# still does after the day commas went is a sentence's scene-setting clause, cut from its subject
_OPENS_ON_DAY = re.compile(_DAY + r"(?:に|から|まで)")


# 「同省、…」「同社、…」: a headline stands alone, so it cannot point back to a sentence before it
_ANAPHORA = re.compile(r"^(?:同|その|この)[^\s、]{0,3}[、は]")
# Clauses that only set the scene (「…会合で、」「…について、」「…を受け、」) may go; one that ends
# on a case particle carries an argument of the predicate (「…可能性があることを、」) and may not.
_ARGUMENT_END = ("を、", "が、", "に、", "へ、", "と、", "も、", "について、", "に関して、", "をめぐり、",
                 "を巡り、", "に対し、", "に対して、")


def _subject_first(head: str, topic: str | None) -> str:
    """「東京株式市場で、日経平均株価、…」→「日経平均株価、…」: a headline opens on its subject."""
    parts = _clauses(head)
    at = next((i for i, p in enumerate(parts) if topic is not None and p.endswith(topic + "、")), 0)
    if at == 0 or any(p.endswith(_ARGUMENT_END) for p in parts[:at]):
        return head
    return "".join(parts[at:])


_FORMAL_NOUNS = {"こと", "もの", "の", "ところ", "わけ", "はず", "ため"}


def _has_subject(tokens: list[textja.Token]) -> bool:
    """Whether a clause names who or what does it: a noun (not 「こと」) marked by 「が」 or 「は」."""
    return any(t.surface in {"が", "は"} and t.pos[0] == "助詞" and i > 0
               and tokens[i - 1].pos[0] in {"名詞", "接尾辞"} and tokens[i - 1].surface not in _FORMAL_NOUNS
               for i, t in enumerate(tokens))


def _own_topic(clause: str) -> bool:
    """Whether a clause has a topic 「は」 of its own after a noun, outside brackets."""
    depth = 0
    tokens = textja.tokenize(clause)
    for i, t in enumerate(tokens):
        if t.surface in "「『（(":
            depth += 1
        elif t.surface in "」』）)":
            depth = max(0, depth - 1)
        elif depth == 0 and t.surface == "は" and t.pos[1] == "係助詞" and i > 0 \
                and tokens[i - 1].pos[0] in {"名詞", "接尾辞"}:
            return True
    return False


def _hands_on_subject(tokens: list[textja.Token]) -> bool:
    """Whether a clause names the subject of a predicate after it: a noun marked by 「が」 with no
    verb or adjective of its own later in the clause (「中国軍機が6日夜、」, not 「損傷が相次ぐ
    ケーブルの防護に向けて、」, where 「相次ぐ」 is its predicate)."""
    marks = [i for i, t in enumerate(tokens) if t.surface == "が" and t.pos[0] == "助詞" and i > 0
             and tokens[i - 1].pos[0] in {"名詞", "接尾辞"}]
    return bool(marks) and not any(t.pos[0] in {"動詞", "形容詞"} for t in tokens[marks[-1] + 1:])


_SAID = re.compile(r"(「[^「」]{2,30}」)(?:と|とも|などと)(?:述べ|語|強調|話|説明|指摘|訴え|言及|反論|批判|"
                   r"明らかに|表明|発言|答え|強調し)")


def _speaker_quote(head: str, topic: str | None) -> str | None:
    """「首相、…について「…」と強調」→「首相「…」」: who said it, and what, in the quote's own words."""
    parts = _clauses(head)
    subject = next((p for p in parts if topic is not None and p.endswith(topic + "、")), "")
    said = _SAID.search(head)
    if not subject or said is None or len(subject) > 20:
        return None
    return subject.rstrip("、") + said.group(1)


def _shorter(head: str, topic: str | None) -> str:
    """The subject and the main clause of a headline too long: what it is about, what happened,
    without the clauses that only set the scene."""
    parts = _clauses(head)
    if len(parts) < 2:
        return head
    subject = next((p for p in parts if topic is not None and p.endswith(topic + "、")), "")
    at = parts.index(subject) if subject else -1
    middle = parts[at + 1:-1]
    if any(p.endswith(_ARGUMENT_END) for p in middle) or len(subject) > 20:
        return head
    if subject and any(_hands_on_subject(textja.tokenize(p)) for p in middle):
        # 「防衛相、中国軍機が6日夜過ぎ、別の機にも照射したと明らかに」: the dropped clause names who
        # did it, and without it the headline gives the deed to the one who told of it
        return head
    last = parts[-1]
    if subject and _own_topic(last):
        # 「自衛隊機は距離を保ち、…実施していて、妨害があったとする主張はあたらない」: the last clause
        # has a topic of its own, and the first one's is no subject of it
        return head
    if not subject:   # the main clause's own topic, and without one no headline
        tokens = textja.tokenize(last)
        words, own = _topic_to_comma([t.surface for t in tokens], tokens)
        if own is None and not _has_subject(tokens):
            return head
        last = "".join(words)
    return subject + last


# A column's title signed by its writer (「つむじ風の矢野論文＝古賀攻」): the name is no part of the
# headline. A value (「1ドル＝160円」) has a figure on one side and stays.
_BYLINE_END = re.compile(r"(?<![\d０-９])[＝=][\u4e00-\u9fff々\u3041-\u3096\u30a1-\u30fa]{2,6}$")


def from_title(title: str, limit: int = lint.HEADLINE_MAX) -> str | None:
    """A report's title as a headline: whole, without a leading label, or its first phrases."""
    t = _BYLINE_END.sub("", _LABEL.sub("", title.strip())).strip()
    if textja.is_japanese(t) and (cry := re.search(r"[!！]+", t)):
        # 「日経平均が5万円超えを達成!歴史的瞬間を振り返る」: a news headline does not exclaim; what
        # comes before the mark is the headline, what follows it the page's come-on
        t = t[: cry.start()].strip()
        if len(t) < 8:
            return None
    if not t or t.endswith(("?", "？")) or (not textja.is_japanese(t) and len(t) > limit):
        return None
    if _SENTENCE_END.search(t):   # a title that is a sentence (「…を決めました」): in headline form
        return compress(t, limit)
    if len(t) <= limit and not lint.headline_problems(t, limit):
        return t
    phrases = [p for p in re.split(r"[ 　]+", t) if p]
    for n in range(len(phrases) - 1, 0, -1):
        head = "　".join(phrases[:n]) if "　" in t else " ".join(phrases[:n])
        if len(head) <= limit and len(head) >= 8 and not lint.headline_problems(head, limit):
            return head
    return None


def english(title: str, limit: int = lint.HEADLINE_MAX) -> str:
    """A Latin-script title within ``limit``: whole, its first clause, or cut between words and
    not on a word that only joins (「… Directed Radar on」 is cut)."""
    t = title.strip().rstrip("…:：;,-–— ").strip()   # a title the site cut, or a kicker
    if len(t) <= limit:
        return t
    for sep in (";", ":", " - ", " – ", ","):
        first = t.split(sep, 1)[0].strip()
        if 8 <= len(first) <= limit and not lint.cut_headline(first):
            return first
    words = t[: limit + 1].split()[:-1] if " " in t[: limit + 1] else [t[:limit]]
    while len(words) > 1 and lint.cut_headline(" ".join(words)):
        words.pop()
    return " ".join(words)[:limit]


def fitted(title: str, limit: int = lint.HEADLINE_MAX) -> str:
    """A title no better way fits, within ``limit``: cut after its last whole clause that fits."""
    t = _LABEL.sub("", title.strip()).rstrip("。 　")
    if not textja.is_japanese(t):
        return english(t, limit)
    if len(t) <= limit:
        return t
    kept = ""
    for part in _clauses(t):
        if len(kept) + len(part) > limit:
            break
        kept += part
    return kept.rstrip("、") if len(kept) >= 8 else t[:limit]


def pick(titles: Sequence[Article], leads: Sequence[str], limit: int = lint.HEADLINE_MAX,
         avoid: Sequence[str] = ()) -> tuple[str, str | None]:
    """(headline, id of the report whose title it is, or None when it is a compressed lead).

    ``titles``: reports in order of preference; ``leads``: sentences to compress, in order of
    preference; ``avoid``: headlines already used (a サブ見出し must add a second fact).
    """
    def fresh(h: str) -> bool:
        return all(not lint.near_duplicate(h, a) and h != a for a in avoid)

    for a in titles:
        h = from_title(a.title, limit)
        if h and fresh(h):
            return h, a.id
    for s in leads:
        h = compress(s, limit)
        if h and fresh(h):
            return h, None
    return "", None
