import pytest

from matome.charset import decode
from matome.errors import DecodeError

PAGE = "<html><head><meta charset=\"{cs}\"></head><body><p>東京で会合が開かれた。</p></body></html>"


@pytest.mark.parametrize(("label", "codec", "expected"), [
    ("Shift_JIS", "cp932", "cp932"),
    ("EUC-JP", "euc_jp", "euc_jp"),
    ("windows-31j", "cp932", "cp932"),
])
def test_declared_japanese_charsets(label, codec, expected):
    text, enc, reason = decode(PAGE.format(cs=label).encode(codec))
    assert "東京で会合" in text
    assert enc == expected
    assert reason == f"declared:{label.lower()}"


def test_utf8_wins_over_a_wrong_label():
    text, enc, reason = decode(PAGE.format(cs="Shift_JIS").encode("utf-8"))
    assert enc == "utf-8" and reason == "valid-utf8" and "東京" in text


def test_bom():
    _text, enc, reason = decode(b"\xef\xbb\xbf" + PAGE.format(cs="x").encode())
    assert (enc, reason) == ("utf-8", "bom")


def test_mislabeled_page_falls_back_to_detection():
    data = PAGE.format(cs="EUC-JP").encode("cp932") * 3
    text, enc, reason = decode(data)
    assert "東京で会合" in text
    assert enc == "cp932"
    assert reason.startswith("declared 'euc-jp' does not decode")


def test_unknown_label_is_detected():
    data = (PAGE.format(cs="x-klingon") * 4).encode("euc_jp")
    text, _enc, reason = decode(data)
    assert "東京で会合" in text and "unknown" in reason


def test_undecodable_bytes_raise():
    with pytest.raises(DecodeError):
        decode(bytes(range(128, 256)) * 8 + b"\x81\x00\xff\xfe\x00\x81")
