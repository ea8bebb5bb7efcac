"""Names in Latin letters: people, bodies and places an English report capitalises.

No English tagger ships offline here, so capitalisation is the evidence, read
with the text's own words as the check. A run of capitalised words is cut
into names where it is not one:

- around a name the gazetteer knows ("Bank of Japan Governor Ueda Kazuo" is
  the Bank of Japan, then a governor named Ueda Kazuo);
- before an office ("… Vice Foreign Minister Takehiro Funakoshi": the office
  makes the rest a person);
- in a headline written in Title Case ("Japan Summons Chinese Ambassador After
  Fighter Jet Radar Lock Incident"), at every word the same text also writes in
  lower case or that is an English stop word: those are the headline's
  ordinary words, not parts of a name.

Before, such runs stood as one name each (``japansummonschinese…``): names no
other report shares, which thinned an English report's overlap with the
Japanese reports of its event (bench/real_eval.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from itertools import pairwise

from matome.language import names
from matome.records import Mention

# "Italian Foreign Minister Marco Valenti": an optional nationality, then the office.
_OFFICE = (
    r"(?:[A-Z][a-z]+(?:an|ese|ish|ch|i)\s+)?"
    r"(?:(?:(?:Vice|Deputy|Senior|State)\s+)?(?:(?:Foreign|Prime|Finance|Defense|Defence|Trade|"
    r"Economy|Economic\s+Security|Chief\s+Cabinet|Justice|Health|Interior)\s+)?Minister|"
    r"(?:Vice\s+)?President|Chancellor|"
    r"(?:Deputy\s+|Under\s+)?(?:Treasury\s+|Commerce\s+|Defense\s+|Chief\s+Cabinet\s+)?"
    r"Secretary(?:\s+of\s+State)?|"
    r"(?:Deputy\s+)?Governor|Gov\.|Chairman|Chairwoman|Chair|CEO|Mayor|Ambassador|Envoy|"
    r"Spokesperson|Spokesman|Spokeswoman|Senator|Sen\.|Rep\.|Gen\.|"
    r"Mr\.?|Ms\.?|Mrs\.?|Dr\.?)\s+(?=[A-Z])")
_EN_TITLES = re.compile("^" + _OFFICE)
_INNER_OFFICE = re.compile(r"(?<=\s)" + _OFFICE)
# Words of a name are joined by spaces on one line: a headline's last word and
# the next paragraph's first are two names, not one.
_LATIN = re.compile(r"[A-Z][A-Za-z0-9]*(?:[.&\-][A-Za-z0-9]+)*"
                    r"(?:[ \t]+(?:of[ \t]+)?[A-Z][A-Za-z0-9]*(?:[.&\-][A-Za-z0-9]+)*)*")
# A capitalised word that opens a sentence or a line: "Even", "Although", "New".
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”'‘’「」()\n]\s*|\n)$")
_LOWER_WORD = re.compile(r"(?<![A-Za-z])[a-z][a-z]+(?![A-Za-z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.&\-]*")
_EN_STOP_WORDS = """
    The A An On In At It He She They We This That These Those But And For After Before While
    According Japanese American Chinese Korean Italian French German British European Russian
    Indian Its His Her Their Our Some Many Most Also However Meanwhile Officials Ministers
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept
    Oct Nov Dec Foreign Minister Ministers President Secretary Prime Gov Governor Vice Deputy
    Ambassador Envoy Chairman Mayor Spokesman Spokesperson
"""
_EN_STOP = frozenset(_EN_STOP_WORDS.split())
# Capitalised abbreviations that name things, not organisations.
_ABBREVIATION_WORDS = """
    CEO CFO COO CM TV PC IT AI CD DVD SNS GDP GNP FW GK MF DF OS PR NG OK ID SF IoT DX EV PCR USB
    LED CPU GPU IC LNG LPG QR SDGs ESG IPO M&A PDF URL HP AM PM FM BS CS MVP BGM CG VR AR NFT
"""
_COMMON_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_NAME_WORDS = """
    bill will de mill fire co con call found front top interest system side part name amount
    detail thick thin back sincere cry move find full fill show mine un ie eg inc ltd etc
"""


@cache
def _stop_words() -> frozenset[str]:
    """scikit-learn's English stop list, read from its module file alone: importing it through
    the package brings scikit-learn and SciPy, 1.5-3 s in every worker process that reads
    English (most of a worker's start), and 0.85 s of every CLI start before that."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    where = spec.submodule_search_locations if spec is not None else None
    if where:
        path = Path(next(iter(where))) / "feature_extraction" / "_stop_words.py"
        alone = importlib.util.spec_from_file_location("matome_sklearn_stop_words", path)
        if path.is_file() and alone is not None and alone.loader is not None:
            module = importlib.util.module_from_spec(alone)
            alone.loader.exec_module(module)
            found = getattr(module, "ENGLISH_STOP_WORDS", None)
            if isinstance(found, frozenset) and found:
                return found
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # a layout this does not know

    return ENGLISH_STOP_WORDS


@cache
def _not_name_lead() -> frozenset[str]:
    return _stop_words() - frozenset(_NAME_WORDS.split())


# Prepositions and verbs of headlines that scikit-learn's stop list lacks.
_LINKING = frozenset({"near", "amid", "despite", "following", "toward", "towards", "against",
                      "across", "versus", "vs", "says", "say", "said"})
HEADLINE_WORDS = 4  # a line of at least this many words, nearly all capitalised, is Title Case


def strip_office(name: str) -> str:
    """"Foreign Minister Kenji Saeki" -> "Kenji Saeki"."""
    return _EN_TITLES.sub("", name)


def _title_case(word: str) -> bool:
    return word[:1].isupper() and word[1:].islower()


def _common_word(word: str, lower_words: set[str] | None) -> bool:
    """A Title-case word that is an ordinary word: one that begins no name, or
    (at a sentence start) one the same text also writes in lower case
    ("New rules…" beside "the new rules")."""
    if not _title_case(word):
        return False
    low = word.lower()
    return low in _not_name_lead() or (lower_words is not None and low in lower_words)


def _ordinary(word: str, lower_words: set[str]) -> bool:
    low = word.lower()
    return low in lower_words or low in _stop_words() or low in _LINKING


def _title_case_line(text: str, at: int, lower_words: set[str]) -> bool:
    """Whether the line holding ``at`` is a headline written in Title Case: nearly every word
    capitalised, ordinary words among them ("After", "Summons" beside "summons" below), not
    a sentence that is all names ("Foreign Minister Toshimitsu Motegi met Secretary …")."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    words = [w for w in _WORD.findall(text[start:end if end >= 0 else len(text)]) if len(w) > 3]
    capitals = [w for w in words if w[:1].isupper()]
    return (len(words) >= HEADLINE_WORDS and len(capitals) >= 0.8 * len(words)
            and sum(_ordinary(w, lower_words) for w in capitals) >= 2)


def _pieces(text: str, start: int, end: int, known: list[tuple[int, int]], headline: bool,
            lower_words: set[str]) -> Iterable[tuple[int, int]]:
    """The spans of one capitalised run that may each be a name."""
    spans = [(start, end)]
    for ks, ke in known:  # a name the gazetteer knows stands on its own
        spans = [piece for s, e in spans for piece in ((s, min(e, ks)), (max(s, ke), e))
                 if piece[0] < piece[1]] if ks < end and ke > start else spans
    for s, e in spans:
        cuts = [s] + [s + m.start() for m in _INNER_OFFICE.finditer(text[s:e])] + [e]
        for a, b in pairwise(cuts):
            if not headline:
                yield a, b
                continue
            run_start = None
            for w in _WORD.finditer(text, a, b):
                if w.group(0) == "of":  # inside a name: Bank of Japan, Secretary of State
                    continue
                ordinary = _ordinary(w.group(0), lower_words)
                if ordinary and run_start is not None:
                    yield run_start, w.start()
                    run_start = None
                elif not ordinary and run_start is None:
                    run_start = w.start()
            if run_start is not None:
                yield run_start, b


def latin_mentions(text: str, known: list[tuple[int, int]], key: Callable[[str], str]) -> list[Mention]:
    """Names written in Latin letters; ``known`` are the spans of names the gazetteer found."""
    # At the start of a sentence every word is capitalised: there, a word that
    # the text also writes in lower case, or an English stop word
    # (scikit-learn's list), is an ordinary word, not (the start of) a name.
    lower_words: set[str] | None = None
    out = []
    for m in _LATIN.finditer(text):
        if lower_words is None:
            lower_words = set(_LOWER_WORD.findall(text))
        headline = _title_case_line(text, m.start(), lower_words)
        for s, e in _pieces(text, m.start(), m.end(), known, headline, lower_words):
            raw = text[s:e].rstrip(" \t")
            found = _mention(text, s, s + len(raw), raw, lower_words, key)
            if found is not None:
                out.append(found)
    return out


def _mention(text: str, start: int, end: int, raw: str, lower_words: set[str],
             key: Callable[[str], str]) -> Mention | None:
    words = raw.split()
    opens = start == 0 or bool(_SENTENCE_START.search(text, max(0, start - 3), start))
    while words and _common_word(words[0], lower_words if opens else None) \
            and not _EN_TITLES.match(" ".join(words) + " "):
        words = words[1:]
    while words and words[0] in {"of", "and"}:
        words = words[1:]
    while words and words[0] in _EN_STOP and not _EN_TITLES.match(" ".join(words) + " "):
        words = words[1:]  # "Japanese Foreign Minister Kenji Saeki": keep the title
    if not words:
        return None
    name = " ".join(words)
    titled = strip_office(name)
    person = titled != name
    name = titled
    if len(name) < 2 or name in _EN_STOP or all(w in _EN_STOP for w in name.split()):
        return None
    first = start + raw.index(name.split()[0])
    if person:
        kind = "person"
    elif name in _COMMON_ABBREVIATIONS:
        kind = "other"
    elif name.isupper() or any(c.isdigit() for c in name):
        kind = "organization"
    else:
        kind = "other"
    # Untitled two- or three-word names ("Aoi Saotome, 19, won…") may be people too: their
    # sound lets cross_script_links find the one Japanese person they name, if any.
    maybe_person = kind == "other" and 2 <= len(name.split()) <= 3 and all(
        _title_case(w) and w.isalpha() for w in name.split())
    sound = names.sound_of_latin(name) if kind == "person" or maybe_person else ""
    return Mention(key(name), name, kind, text[first:end], first, end, sound)
