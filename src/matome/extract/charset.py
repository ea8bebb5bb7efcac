"""Decode page bytes: BOM → valid UTF-8 → declared charset → limited detector.

The order follows the issue rather than the WHATWG sniffing algorithm on one
point: bytes that are valid UTF-8 are read as UTF-8 whatever the page says,
because "UTF-8 declared as Shift_JIS" is common and a false positive is
practically impossible for Japanese text (its UTF-8 is three bytes a
character, with a structure other encodings almost never produce).

A declared label (HTTP header, then XML declaration, then ``<meta>``) is
mapped through the WHATWG Encoding Standard's label table — ``Shift_JIS`` is
read as cp932, with the NEC and IBM extension characters (①, ㈱, 髙) that
browsers decode — and decoded strictly. A label that does not decode, or that
decodes into mojibake (EUC-JP bytes read as cp932 decode "fine" into half-width
katakana), is passed over with a note, and the next declaration or the
detector is tried. The detector (charset-normalizer) may only answer with
Japanese and common encodings, and its candidates are checked for mojibake
too.

``decode`` returns ``(text, codec, reason)``; the reason says which rule
decided, in words a person can read: ``bom``, ``valid-utf8``,
``iso-2022-jp-escapes``, ``http-header``, ``xml-declaration``, ``meta``,
``detected``, preceded by notes on what was passed over, e.g.
``declared shift_jis (http-header) decodes to mojibake; detected euc_jp``.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

from matome.errors import DecodeError

# The reasons ``decode`` gives (the last part of the reason string).
REASONS = ("bom", "valid-utf8", "iso-2022-jp-escapes", "http-header", "xml-declaration", "meta",
           "detected")

# WHATWG Encoding Standard labels, by encoding (https://encoding.spec.whatwg.org/#names-and-labels);
# single-byte encodings other than the Latin and Cyrillic ones pages here use are left out.
_LABELS: dict[str, tuple[str, ...]] = {
    "UTF-8": ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8",
              "x-unicode20utf8"),
    "Shift_JIS": ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j",
                  "x-sjis"),
    "EUC-JP": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "ISO-2022-JP": ("csiso2022jp", "iso-2022-jp"),
    "UTF-16LE": ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16",
                 "utf-16le"),
    "UTF-16BE": ("unicodefffe", "utf-16be"),
    "windows-1252": ("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819",
                     "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1",
                     "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252"),
    "windows-1251": ("cp1251", "windows-1251", "x-cp1251"),
    "KOI8-R": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "ISO-8859-2": ("csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2",
                   "iso_8859-2:1987", "l2", "latin2"),
    "ISO-8859-15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"),
    "GBK": ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk",
            "iso-ir-58", "x-gbk"),
    "gb18030": ("gb18030",),
    "Big5": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "EUC-KR": ("cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987",
               "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949"),
    # WHATWG: these decode to a single U+FFFD; a page labelled so has no usable declaration
    "replacement": ("csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr",
                    "replacement"),
}
# Labels seen on Japanese pages that WHATWG does not list (browsers fall back to detection).
_EXTRA = {"cp932": "Shift_JIS", "shift_jisx0213": "Shift_JIS", "shift_jis-2004": "Shift_JIS",
          "x-ms-cp932": "Shift_JIS", "eucjp": "EUC-JP", "euc_jp": "EUC-JP", "x-eucjp": "EUC-JP",
          "euc-jisx0213": "EUC-JP", "ujis": "EUC-JP", "jis": "ISO-2022-JP", "utf_8": "UTF-8"}
LABELS: dict[str, str] = {lab: enc for enc, labs in _LABELS.items() for lab in labs} | _EXTRA

# Python codecs per encoding, tried in order, strictly. cp932 is WHATWG's Shift_JIS; the
# JIS X 0213 codecs read row-13 characters (①, ㈱) that Python's euc_jp and iso2022_jp lack.
_CODECS: dict[str, tuple[str, ...]] = {
    "UTF-8": ("utf-8",), "Shift_JIS": ("cp932", "shift_jis_2004"),
    "EUC-JP": ("euc_jp", "euc_jis_2004"),
    "ISO-2022-JP": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004"),
    "UTF-16LE": ("utf-16-le",), "UTF-16BE": ("utf-16-be",),
    "windows-1252": ("cp1252", "latin-1"), "windows-1251": ("cp1251",), "KOI8-R": ("koi8_r",),
    "ISO-8859-2": ("iso8859_2",), "ISO-8859-15": ("iso8859_15",), "GBK": ("gb18030",),
    "gb18030": ("gb18030",), "Big5": ("big5hkscs",), "EUC-KR": ("cp949",), "replacement": (),
}

# The detector may only answer with encodings news pages here are written in.
DETECTABLE = ["utf_8", "cp932", "euc_jp", "iso2022_jp", "utf_16", "cp1252"]

_META = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""\A\s*<\?xml[^>]*?encoding\s*=\s*["']\s*([A-Za-z0-9_:.\-]+)""")
_HEADER = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_JIS_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(I", b"\x1b$(D", b"\x1b$(Q", b"\x1b$(O")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16le"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16be"))


def normalize_label(label: str) -> str | None:
    """The WHATWG encoding a label names ('Shift_JIS' for 'x-sjis'), or None if unknown."""
    return LABELS.get(label.strip().strip("\"'").lower())


def declarations(data: bytes, header: str | None = None) -> list[tuple[str, str]]:
    """Every charset the page declares, as (where, label): HTTP header, XML declaration, <meta>."""
    found: list[tuple[str, str]] = []
    if header and (hm := _HEADER.search(header)):
        found.append(("http-header", hm.group(1).lower()))
    head = data[:4096]
    if (xm := _XML_DECL.match(head)) is not None:
        found.append(("xml-declaration", xm.group(1).decode("ascii").lower()))
    if (mm := _META.search(_COMMENT.sub(b"", head))) is not None:
        found.append(("meta", mm.group(1).decode("ascii").lower()))
    return found


def mojibake(text: str) -> float:
    """Share of the non-ASCII characters that look like a wrong decoding.

    Half-width katakana, private-use characters, C1 controls and U+FFFD are rare
    in real text and are what EUC-JP or UTF-8 bytes become when read as cp932.
    """
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 0.0
    odd = sum(1 for c in wide if "\uff61" <= c <= "\uff9f" or "\ue000" <= c <= "\uf8ff"
              or "\x80" <= c <= "\x9f" or c == "\ufffd" or unicodedata.category(c) == "Cn")
    return odd / len(wide)


MOJIBAKE = 0.3  # above this share a decoding is taken to be wrong
MIN_EVIDENCE = 4  # non-ASCII characters needed before a declared charset is overruled


def _non_ascii(text: str) -> int:
    return sum(1 for c in text if ord(c) > 0x7F)


_SINGLE_BYTE = {"windows-1252", "windows-1251", "KOI8-R", "ISO-8859-2", "ISO-8859-15"}


def _ordered(found: list[tuple[str, str]], notes: list[str]) -> list[tuple[str, str]]:
    """Declarations in the order they count, but a Latin header last when the page declares too.

    Servers add ``charset=ISO-8859-1`` to every page by default (old Apache did);
    a Japanese page's own ``<meta>`` knows better, so it is tried first.
    """
    if found and found[0][0] == "http-header" and len(found) > 1 \
            and normalize_label(found[0][1]) in _SINGLE_BYTE:
        notes.append(f"http-header {found[0][1]} taken for a server default")
        return [*found[1:], found[0]]
    return found


def _try(data: bytes, codec_names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in codec_names:
        try:
            return data.decode(name), name
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def decode(data: bytes, header: str | None = None) -> tuple[str, str, str]:
    """Return (text, codec, reason); ``DecodeError`` when no candidate decodes the bytes."""
    notes: list[str] = []
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), name, "bom"
            except UnicodeDecodeError:
                notes.append(f"{name} byte order mark but not {name}")
            break
    # ISO-2022-JP is 7-bit, so it is also valid UTF-8: its escapes decide before the UTF-8 rule
    escapes = data.isascii() and any(e in data for e in _JIS_ESCAPES)
    if not escapes:
        try:
            return data.decode("utf-8"), "utf-8", "valid-utf8"
        except UnicodeDecodeError:
            pass
    tried: set[str] = set()
    for where, label in _ordered(declarations(data, header), notes):
        enc = normalize_label(label)
        if enc is None:
            notes.append(f"declared {label} ({where}) is unknown")
            continue
        if enc == "replacement":
            notes.append(f"declared {label} ({where}) is not decoded by browsers either")
            continue
        if enc in tried:
            continue
        tried.add(enc)
        got = _try(data, _CODECS[enc])
        if got is None:
            notes.append(f"declared {label} ({where}) does not decode")
        elif mojibake(got[0]) > MOJIBAKE and _non_ascii(got[0]) >= MIN_EVIDENCE:
            # (a declaration is only overruled on enough text: a lone ｡ is not mojibake)
            notes.append(f"declared {label} ({where}) decodes to mojibake")
        else:
            return got[0], got[1], "; ".join([*notes, where])
    if escapes and (got := _try(data, _CODECS["ISO-2022-JP"])) is not None:
        return got[0], got[1], "; ".join([*notes, "iso-2022-jp-escapes"])
    text, codec = _detect(data, notes)
    return text, codec, "; ".join([*notes, f"detected {codec}" if notes else "detected"])


def _detect(data: bytes, notes: list[str]) -> tuple[str, str]:
    """The detector's first candidate that decodes strictly without mojibake (else its best)."""
    results = from_bytes(data, cp_isolation=DETECTABLE)
    fallback: tuple[str, str] | None = None
    for match in results:
        got = _try(data, (match.encoding,))
        if got is None:
            continue
        if mojibake(got[0]) <= MOJIBAKE:
            return got
        fallback = fallback or got
    # charset-normalizer can miss a short Japanese page: the Japanese codecs, checked the same way
    for codec in ("cp932", "euc_jp", "euc_jis_2004", "shift_jis_2004"):
        got = _try(data, (codec,))
        if got is not None and mojibake(got[0]) <= MOJIBAKE:
            return got
    if fallback is not None:
        return fallback
    raise DecodeError("; ".join([*notes, "no known charset decodes these bytes"]))
