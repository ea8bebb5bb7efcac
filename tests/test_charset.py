"""charset.decode: BOM → valid UTF-8 → declared (WHATWG labels, strict) → limited detector."""

import pytest

from matome.errors import DecodeError
from matome.extract import REASONS, declarations, decode, mojibake, normalize_label

PAGE = "<html><head><meta charset=\"{cs}\"></head><body><p>{text}</p></body></html>"
TEXT = "東京で会合が開かれ、各国の代表が来年の予算について話し合った。"
NEC_IBM = "①の会場は㈱髙島屋の本店、№3の会議室だった。"


def page(label: str, codec: str, text: str = TEXT) -> bytes:
    return PAGE.format(cs=label, text=text).encode(codec)


@pytest.mark.parametrize(("label", "codec", "expected"), [
    ("Shift_JIS", "cp932", "cp932"),
    ("EUC-JP", "euc_jp", "euc_jp"),
    ("windows-31j", "cp932", "cp932"),
    # less common WHATWG labels
    ("x-sjis", "cp932", "cp932"),
    ("MS_Kanji", "cp932", "cp932"),
    ("csShiftJIS", "cp932", "cp932"),
    ("x-euc-jp", "euc_jp", "euc_jp"),
    ("cseucpkdfmtjapanese", "euc_jp", "euc_jp"),
    ("csISO2022JP", "iso2022_jp", "iso2022_jp"),
])
def test_declared_japanese_charsets(label, codec, expected):
    text, enc, reason = decode(page(label, codec))
    assert TEXT in text
    assert enc == expected
    assert reason == "meta"


def test_http_header_and_xml_declaration_are_named():
    body = page("x-klingon", "cp932")
    assert decode(body, "text/html; charset=\"Shift_JIS\"")[1:] == ("cp932", "http-header")
    xml = f'<?xml version="1.0" encoding="EUC-JP"?><rss><title>{TEXT}</title></rss>'.encode("euc_jp")
    assert decode(xml)[1:] == ("euc_jp", "xml-declaration")


def test_declarations_in_order_and_comments_ignored():
    body = b'<?xml version="1.0" encoding="euc-jp"?><!-- <meta charset="utf-8"> --><meta charset=sjis>'
    assert declarations(body, "text/html;charset=Shift_JIS") == [
        ("http-header", "shift_jis"), ("xml-declaration", "euc-jp"), ("meta", "sjis")]
    http_equiv = b'<meta http-equiv="Content-Type" content="text/html; charset=EUC-JP">'
    assert declarations(http_equiv) == [("meta", "euc-jp")]


def test_utf8_wins_over_a_wrong_label():
    text, enc, reason = decode(page("Shift_JIS", "utf-8"), "text/html; charset=Shift_JIS")
    assert enc == "utf-8" and reason == "valid-utf8" and TEXT in text


def test_boms():
    assert decode(b"\xef\xbb\xbf" + page("x", "utf-8"))[1:] == ("utf-8", "bom")
    text, enc, reason = decode(b"\xff\xfe" + page("Shift_JIS", "utf-16-le"))
    assert (enc, reason) == ("utf-16le", "bom") and TEXT in text and not text.startswith("\ufeff")


def test_nec_and_ibm_extension_characters_need_cp932():
    """①, ㈱ (NEC) and 髙 (IBM) are not in JIS X 0208: Python's shift_jis rejects them."""
    data = page("Shift_JIS", "cp932", NEC_IBM)
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")
    text, enc, reason = decode(data)
    assert NEC_IBM in text and (enc, reason) == ("cp932", "meta")


def test_euc_jp_row_13_characters():
    text, enc, reason = decode(page("EUC-JP", "euc_jis_2004", "①の会場は㈱本店だった。"))
    assert "①の会場は㈱本店" in text and enc == "euc_jis_2004" and reason == "meta"


def test_euc_jp_declared_as_shift_jis_is_detected():
    data = page("Shift_JIS", "euc_jp")
    text, enc, reason = decode(data)
    assert TEXT in text and enc == "euc_jp"
    assert reason.startswith("declared shift_jis (meta) ") and reason.endswith("detected euc_jp")


def test_header_shift_jis_over_euc_jp_bytes_falls_to_the_meta():
    text, enc, reason = decode(page("EUC-JP", "euc_jp"), "text/html; charset=Shift_JIS")
    assert TEXT in text and enc == "euc_jp"
    assert reason.endswith("; meta") and "declared shift_jis (http-header)" in reason


def test_latin1_server_default_yields_to_the_page():
    text, enc, reason = decode(page("Shift_JIS", "cp932"), "text/html; charset=ISO-8859-1")
    assert TEXT in text and enc == "cp932"
    assert reason == "http-header iso-8859-1 taken for a server default; meta"


def test_iso_2022_jp_without_a_label_is_not_read_as_ascii():
    data = f"<html><body><p>{TEXT}</p></body></html>".encode("iso2022_jp")
    text, enc, reason = decode(data)
    assert TEXT in text and enc == "iso2022_jp" and reason == "iso-2022-jp-escapes"


def test_mislabeled_page_falls_back_to_detection():
    data = page("EUC-JP", "cp932") * 3
    text, enc, reason = decode(data)
    assert TEXT in text
    assert enc == "cp932"
    assert reason == "declared euc-jp (meta) does not decode; detected cp932"


def test_unknown_and_replacement_labels_are_detected():
    text, _enc, reason = decode(page("x-klingon", "euc_jp") * 4)
    assert TEXT in text and "declared x-klingon (meta) is unknown" in reason
    _text, _enc, reason = decode(page("iso-2022-kr", "cp932") * 4)
    assert "not decoded by browsers" in reason


def test_undecodable_bytes_raise():
    with pytest.raises(DecodeError, match="no known charset decodes"):
        decode(bytes(range(128, 256)) * 8 + b"\x81\x00\xff\xfe\x00\x81")


def test_labels_and_mojibake_score():
    assert normalize_label(" Shift_JIS ") == "Shift_JIS"
    assert normalize_label("unicode-1-1-utf-8") == "UTF-8"
    assert normalize_label("klingon") is None
    assert mojibake(TEXT) == 0.0
    assert mojibake(TEXT.encode("euc_jp").decode("cp932", "replace")) > 0.5
    assert set(REASONS) >= {"bom", "valid-utf8", "http-header", "xml-declaration", "meta"}
