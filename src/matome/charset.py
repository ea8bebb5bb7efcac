"""Decode page bytes: BOM → valid UTF-8 → declared charset → limited detector.

The declared label is mapped through the WHATWG Encoding Standard's aliases
(a page saying ``Shift_JIS`` is decoded as cp932, as browsers do) and
decoded strictly, so a mislabeled page falls through to detection instead of
silently turning into mojibake. The chosen encoding and the reason are kept
on the article.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from matome.errors import DecodeError

# WHATWG labels (lower case) → Python codec. Only the labels pages in our
# languages actually use; anything else goes to the detector.
_WHATWG = {
    "utf-8": "utf-8", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "ms932": "cp932", "windows-31j": "cp932", "csshiftjis": "cp932",
    "cp932": "cp932",
    "euc-jp": "euc_jp", "x-euc-jp": "euc_jp", "cseucpkdfmtjapanese": "euc_jp",
    "iso-2022-jp": "iso2022_jp", "csiso2022jp": "iso2022_jp",
    "utf-16": "utf-16", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "l1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "windows-1252": "cp1252", "cp1252": "cp1252",
    "euc-kr": "cp949", "gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030",
    "big5": "big5hkscs",
}

# The detector may only answer with encodings news pages here are written in.
_DETECTABLE = ["utf_8", "cp932", "euc_jp", "iso2022_jp", "utf_16", "cp1252"]

_META = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.\-]+)["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "utf-8"), (codecs.BOM_UTF16_LE, "utf-16", "utf-16le"),
         (codecs.BOM_UTF16_BE, "utf-16", "utf-16be"))


def declared_charset(data: bytes, header: str | None = None) -> str | None:
    """The charset a page declares: HTTP header, then XML declaration, then <meta>."""
    if header:
        hm = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.\-]+)", header, re.IGNORECASE)
        if hm:
            return hm.group(1).lower()
    head = data[:4096]
    for pattern in (_XML_DECL, _META):
        m = pattern.search(head)
        if m:
            return m.group(1).decode("ascii", "replace").lower()
    return None


def decode(data: bytes, header: str | None = None) -> tuple[str, str, str]:
    """Return (text, encoding, reason)."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), name, "bom"
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8"), "utf-8", "valid-utf8"
    except UnicodeDecodeError:
        pass
    label = declared_charset(data, header)
    note = ""
    if label:
        mapped = _WHATWG.get(label)
        if mapped is None:
            note = f"declared {label!r} unknown; "
        else:
            try:
                return data.decode(mapped), mapped, f"declared:{label}"
            except UnicodeDecodeError:
                note = f"declared {label!r} does not decode; "
    best = from_bytes(data, cp_isolation=_DETECTABLE).best()
    if best is None or best.encoding is None:
        raise DecodeError(f"{note}no known charset decodes these bytes")
    detected: str = best.encoding
    return data.decode(detected, errors="strict"), detected, f"{note}detected"
