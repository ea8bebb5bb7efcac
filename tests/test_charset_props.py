"""Properties of charset.decode (Hypothesis): it never fails but with DecodeError, and it
gives back exactly the text a page was written in, however that page is labelled."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matome.errors import DecodeError
from matome.extract import LABELS, MOJIBAKE, REASONS, decode, mojibake

HIRAGANA = [chr(c) for c in range(0x3041, 0x3094)]
KATAKANA = [chr(c) for c in range(0x30A1, 0x30F7)]
KANJI = list("日本東京大阪政府会議予算経済首相発表国際市場銀行金利選挙地震台風警報新聞記者社会教育病院"
             "調査結果増加減少関係企業開発技術研究支援方針決定")
PUNCT = list("、。「」（）・ー！？ 　")
NEC_IBM = list("①②③⑳㈱㈲№ⅠⅡ髙﨑")
ASCII = [chr(c) for c in range(0x20, 0x7F) if chr(c) not in "<>&"]

PAGE = '<html><head><meta charset="{label}"><title>t</title></head><body><p>{text}</p></body></html>'
OK = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def japanese(extra: tuple[str, ...] = (), min_size: int = 1) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(HIRAGANA + KATAKANA + KANJI + PUNCT + ASCII + list(extra)),
                   min_size=min_size, max_size=200)


def labels_for(encoding: str) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(lab for lab, enc in LABELS.items() if enc == encoding))


@OK
@given(st.binary(max_size=600), st.one_of(st.none(), st.text(max_size=60)))
def test_any_bytes_decode_or_raise_decode_error(data, header):
    try:
        text, codec, reason = decode(data, header)
    except DecodeError as exc:
        assert exc.reason
        return
    assert isinstance(text, str) and codec
    last = reason.rsplit("; ", 1)[-1]
    assert last.split(" ")[0] in REASONS


@OK
@given(st.text(max_size=300).filter(lambda t: not t.startswith("\ufeff") and "\x1b" not in t),
       st.sampled_from(sorted(LABELS)))
def test_utf8_is_always_read_as_utf8_whatever_the_label(text, label):
    data = PAGE.format(label=label, text=text).encode("utf-8")
    got, codec, reason = decode(data, f"text/html; charset={label}")
    assert (got, codec, reason) == (PAGE.format(label=label, text=text), "utf-8", "valid-utf8")


@OK
@given(japanese(tuple(NEC_IBM)), labels_for("Shift_JIS"))
def test_shift_jis_pages_round_trip_with_nec_and_ibm_characters(text, label):
    html = PAGE.format(label=label, text=text)
    data = html.encode("cp932")
    # valid UTF-8 wins over any label (BOM → valid UTF-8 → declared)
    assume(not data.isascii() and not _is_utf8(data))
    got, codec, reason = decode(data)
    assert got == html and codec == "cp932" and reason == "meta"


@OK
@given(japanese(), labels_for("EUC-JP"))
def test_euc_jp_pages_round_trip(text, label):
    html = PAGE.format(label=label, text=text)
    data = html.encode("euc_jp")
    # valid UTF-8 wins over any label (BOM → valid UTF-8 → declared)
    assume(not data.isascii() and not _is_utf8(data))
    got, codec, reason = decode(data, "text/html")
    assert got == html and codec == "euc_jp" and reason == "meta"


@OK
@given(st.lists(st.sampled_from(HIRAGANA), min_size=12, max_size=80),
       st.lists(st.sampled_from(KANJI + PUNCT), min_size=0, max_size=40), st.randoms())
def test_euc_jp_mislabeled_as_shift_jis_is_recovered(kana, others, rnd):
    chars = kana + others
    rnd.shuffle(chars)
    text = "".join(chars)
    html = PAGE.format(label="Shift_JIS", text=text)
    got, codec, reason = decode(html.encode("euc_jp"), "text/html; charset=Shift_JIS")
    assert got == html and codec in {"euc_jp", "euc_jis_2004"}
    assert reason.startswith("declared shift_jis (http-header)")


@OK
@given(japanese(min_size=1))
def test_real_japanese_is_never_called_mojibake(text):
    assert mojibake(text) <= MOJIBAKE


# Private-use code points (cp932 外字) are left out: the decoder treats them as a sign of a wrong
# guess, and real pages avoid them; the six characters cp932 does not round-trip are left out too.
@given(st.text(alphabet=st.characters(codec="cp932", exclude_categories=("Cs", "Cc", "Co"),
                                      exclude_characters="¢£¬‖−〜"), min_size=1, max_size=200))
@settings(max_examples=150)
def test_declared_shift_jis_pages_decode_to_what_was_written(text):
    page = f'<html><head><meta charset="Shift_JIS"></head><body><p>{text}</p></body></html>'
    data = page.encode("cp932")
    # Valid UTF-8 wins over any label (the order: BOM → valid UTF-8 → declared), so a
    # few-character text whose cp932 bytes happen to be valid UTF-8 (轢Ё → 瀄F) is out of scope.
    assume(not _is_utf8(data))
    got, _encoding, _reason = decode(data, None)
    assert got == page


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=200))
@settings(max_examples=150)
def test_utf8_pages_decode_to_what_was_written(text):
    page = f"<html><body><p>{text}</p></body></html>"
    assert decode(page.encode("utf-8"), None)[0] == page


def _is_utf8(data: bytes) -> bool:
    """True when the bytes also read as UTF-8 (a few-character page can: 予 in EUC-JP is ͽ)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
