"""The cheaper paths of extraction and dedupe give exactly what the plain ones gave."""

from __future__ import annotations

import re

from datasketch import MinHash
from lxml import html as lxml_html

from matome.extract import dates, jsonld, pagekind
from matome.settings import DedupeSettings
from matome.stories import dedupe

# For each kind of blog furniture, texts its pattern matches: the words checked first
# (case-folded) must be in every one, or the sign would be missed.
MATCHES = {
    "affiliate": ["https://www.Amazon.co.jp/dp/B01?tag=foo-22", "http://AMZN.to/x",
                  "hb.afl.rakuten.co.jp/hgc", "rakuten_ad_target", "//px.A8.net/svt", "moshimo.com/",
                  "ValueCommerce.ne.jp/", "click.linksynergy.com/", "h.accesstrade.net/"],
    "ranking": ["blogmura.com", "WITH2.net", "BlogRanking", "人気ブログランキング", "にほんブログ村"],
    "trackback": ["トラックバック", "TrackBack URL"],
    "platform": ["ブログを書く", "ブログ開設", "読者になる", "このブログの人気記事", "ブログトップ"],
    "archive": ["月別アーカイブ", "月別記事一覧", "アーカイブ"],
    "comments": ["コメント（3）", "コメントを書く", "コメントする", "コメント欄"],
    "profile": ["プロフィール"],
}


def test_every_blog_sign_is_found_through_its_words() -> None:
    assert set(MATCHES) == set(pagekind._SIGNS)
    for name, examples in MATCHES.items():
        words, rx = pagekind._SIGNS[name]
        for text in examples:
            page = f"<html><body><p>本文です。</p><a>{text}</a></body></html>"
            assert rx.search(page), (name, text)
            assert any(w in page.casefold() for w in words), (name, text)
            assert name in pagekind.blog_signs("https://news.example/a", page)


LD = """<html><head>
<script type="application/ld+json">{"@graph": [{"@type": "WebPage"},
 {"@type": "NewsArticle", "datePublished": "2026-01-19T09:00:00+09:00",
  "dateModified": "2026-01-19T12:00:00+09:00", "isAccessibleForFree": "False"}]}</script>
<script type="application/ld+json">{"@type": "BlogPosting", broken</script>
</head><body><p>本文。</p></body></html>"""


def test_json_ld_read_once_says_what_reading_it_each_time_said() -> None:
    tree = lxml_html.document_fromstring(LD)
    ld = jsonld.read(tree)
    assert [b.valid for b in ld] == [True, False]
    assert pagekind._ld_types(ld) == {"WebPage", "NewsArticle", "BlogPosting"}
    assert pagekind.paywalled(LD, tree, ld) and pagekind.paywalled(LD, tree)
    url = "https://n.example/a"
    assert pagekind.is_blog(url, tree, LD, ld) is pagekind.is_blog(url, tree, LD)
    got = dates.page_dates(tree, "本文。", ld=ld)
    assert got == dates.page_dates(tree, "本文。")
    assert (got.raw, got.how) == ("2026-01-19T09:00:00+09:00", "json-ld")
    assert got.updated_raw == "2026-01-19T12:00:00+09:00"


def test_shared_permutations_make_the_same_signature() -> None:
    cfg = DedupeSettings()
    text = "東京都で新しい橋の開通式があった。知事があいさつした。" * 5
    plain = MinHash(num_perm=cfg.num_perm, scheme=dedupe.SCHEME)
    norm, k = dedupe.normalized(text), cfg.shingle_chars
    plain.update_batch([norm[i:i + k].encode() for i in range(len(norm) - k + 1)])
    mh = dedupe.minhash(text, cfg)
    assert (mh.hashvalues == plain.hashvalues).all()
    back = dedupe.minhash_from_bytes(dedupe.minhash_bytes(mh), cfg)
    assert back.jaccard(plain) == 1.0
    other = dedupe.minhash(re.sub("橋", "港", text), cfg)
    assert 0 < other.jaccard(mh) < 1


def test_the_band_index_finds_what_datasketchs_lsh_finds() -> None:
    """``dedupe.Bands`` (a smaller index) gives, for every signature, the candidates
    ``MinHashLSH`` gives: near copies (a few characters changed), unrelated texts, repeats."""
    import random

    from datasketch import MinHashLSH

    cfg = DedupeSettings()
    rng = random.Random(7)
    words = ["政府", "首相", "会談", "経済", "発表", "地震", "被害", "東京", "大阪", "記者", "会見",
             "予算", "関税", "半導体", "工場", "輸出", "気象庁", "台風", "避難", "市長"]
    texts = []
    for _ in range(60):
        base = "。".join("".join(rng.choice(words) for _ in range(8)) for _ in range(12))
        texts.append(base)
        for n in (1, 3, 8, 30):  # copies with n characters replaced: near, then not
            chars = list(base)
            for i in rng.sample(range(len(chars)), n):
                chars[i] = rng.choice("あいうえおかきくけこ")
            texts.append("".join(chars))
    texts += texts[:5]  # the same text again under another id
    sigs = {f"r{i}": dedupe.minhash(x, cfg) for i, x in enumerate(texts)}
    lsh = MinHashLSH(threshold=cfg.near_threshold, num_perm=cfg.num_perm)
    bands = dedupe.Bands(cfg)
    for key, mh in sigs.items():
        lsh.insert(key, mh)
        bands.insert(key, mh.hashvalues)
    shared = 0
    for mh in sigs.values():
        assert bands.query(mh.hashvalues) == set(lsh.query(mh))
        shared += len(bands.query(mh.hashvalues)) > 1
    assert shared > 100  # near copies did share bands: the comparison was not all singletons


def test_the_deduper_judges_as_datasketchs_jaccard_does() -> None:
    """Signatures held as rows of one array (``Deduper``) give each text the verdict the
    earlier loop gave: ``MinHash.jaccard`` over ``MinHashLSH``'s candidates, the first best
    by id: the same original, kind and similarity."""
    import random

    from datasketch import MinHashLSH

    from matome.records import Article

    cfg = DedupeSettings()
    rng = random.Random(11)
    words = ["政府", "首相", "会談", "経済", "発表", "地震", "被害", "東京", "記者", "予算", "関税"]
    texts = []
    for _ in range(25):
        base = "。".join("".join(rng.choice(words) for _ in range(8)) for _ in range(12))
        texts.append(base)
        for n in (1, 4, 40):
            chars = list(base)
            for i in rng.sample(range(len(chars)), n):
                chars[i] = rng.choice("あいうえお")
            texts.append("".join(chars))
    texts += texts[:3]  # exact copies
    deduper, held, near = dedupe.Deduper(cfg), {}, 0
    lsh = MinHashLSH(threshold=cfg.near_threshold, num_perm=cfg.num_perm)
    for i, text in enumerate(texts):
        a = Article(f"r{i:03d}", f"https://x.example/{i}", "見出し", text, "x", "ja")
        v = deduper.judge(a)
        mh = dedupe.minhash(text, cfg)
        if v.kind != "exact":
            sims = {k: mh.jaccard(held[k]) for k in sorted(lsh.query(mh))}
            best = max(sims, key=lambda k: sims[k], default=None)  # the first best, by id
            want = best if best is not None and sims[best] >= cfg.near_threshold else None
            assert v.duplicate_of == want, i
            if want is not None:
                assert v.similarity == round(sims[want], 4)
                near += 1
        deduper.remember(a.id, v.text_hash, v.minhash.hashvalues, v.duplicate_of)
        if v.duplicate_of is None:
            held[a.id] = mh
            lsh.insert(a.id, mh)
    assert near >= 20  # near copies were found, not only told apart
