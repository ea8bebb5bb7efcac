"""Self-check for the bundled demo corpus (stdlib only).

Run with ``python -m matome.demo.check_corpus``. It parses every file under ``corpus/``, checks the
declared encodings, and verifies ``expected.json`` against the articles actually present.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
CODECS = {"utf-8": "utf-8", "shift_jis": "shift_jis", "euc-jp": "euc_jp"}
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}


@dataclass
class Doc:
    url: str
    outlet: str
    title: str
    text: str
    lang: str
    published: str | None
    origin: str
    charset: str = "utf-8"


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.canonical = ""
        self.lang = ""
        self.paras: list[str] = []
        self._in_article = 0
        self._in_p = False
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "meta":
            key = a.get("property") or a.get("name")
            if key:
                self.meta[key] = a.get("content", "")
        elif tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href", "")
        elif tag == "article":
            self._in_article += 1
        elif tag == "p" and self._in_article:
            self._in_p, self._buf = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._in_article -= 1
        elif tag == "p" and self._in_p:
            self._in_p = False
            self.paras.append("".join(self._buf).strip())

    def handle_data(self, data: str) -> None:
        if self._in_p:
            self._buf.append(data)


def _html_paragraphs(fragment: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", p).strip() for p in re.findall(r"<p>(.*?)</p>", fragment, re.S)]


def _declared_charset(raw: bytes) -> str:
    head = raw[:2048].decode("ascii", errors="replace")
    m = re.search(r"charset=[\"']?([A-Za-z0-9_-]+)", head, re.I)
    if not m:
        raise ValueError("no charset declaration")
    return m.group(1).lower()


def load_html(path: Path) -> Doc:
    raw = path.read_bytes()
    charset = _declared_charset(raw)
    text = raw.decode(CODECS[charset], errors="strict")
    if charset != "utf-8":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise ValueError(f"{path.name}: declared {charset} but decodes as UTF-8")
    parser = _PageParser()
    parser.feed(text)
    body_paras = parser.paras
    # drop the byline paragraph that some templates keep inside <article>
    body = [p for p in body_paras if p and "。" in p]
    return Doc(
        url=parser.canonical,
        outlet=parser.meta.get("og:site_name", ""),
        title=parser.meta.get("og:title", ""),
        text="\n".join(body),
        lang=parser.lang or "ja",
        published=parser.meta.get("article:published_time"),
        origin=f"html/{path.name}",
        charset=charset,
    )


def load_rss(path: Path) -> list[Doc]:
    root = ET.parse(path).getroot()
    channel = root.find("channel")
    assert channel is not None
    outlet = channel.findtext("title", "")
    docs = []
    for item in channel.findall("item"):
        body = item.findtext("content:encoded", "", NS)
        docs.append(
            Doc(
                url=item.findtext("link", ""),
                outlet=outlet,
                title=item.findtext("title", ""),
                text="\n".join(_html_paragraphs(body)),
                lang="ja",
                published=item.findtext("pubDate"),
                origin=f"feeds/{path.name}",
            )
        )
    return docs


def load_atom(path: Path) -> list[Doc]:
    root = ET.parse(path).getroot()
    outlet = root.findtext("atom:title", "", NS)
    docs = []
    for entry in root.findall("atom:entry", NS):
        link = entry.find("atom:link[@rel='alternate']", NS)
        body = entry.findtext("atom:content", "", NS)
        docs.append(
            Doc(
                url=link.get("href", "") if link is not None else "",
                outlet=outlet,
                title=entry.findtext("atom:title", "", NS),
                text="\n".join(_html_paragraphs(body)),
                lang="ja",
                published=entry.findtext("atom:published", None, NS),
                origin=f"feeds/{path.name}",
            )
        )
    return docs


def load_jsonl(path: Path) -> list[Doc]:
    docs = []
    ids = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        for field in ("id", "url", "title", "text", "published", "source", "lang"):
            if field not in rec:
                raise ValueError(f"{path.name}:{n}: missing {field}")
        if rec["id"] in ids:
            raise ValueError(f"{path.name}:{n}: duplicate id {rec['id']}")
        ids.add(rec["id"])
        docs.append(
            Doc(
                url=rec["url"],
                outlet=rec["source"],
                title=rec["title"],
                text=rec["text"],
                lang=rec["lang"],
                published=rec["published"],
                origin=f"{path.name}:{n}",
            )
        )
    return docs


def load_all(demo_dir: Path = DEMO_DIR) -> list[Doc]:
    corpus = demo_dir / "corpus"
    docs = [load_html(p) for p in sorted((corpus / "html").glob("*.html"))]
    docs += load_rss(corpus / "feeds" / "hokkai.rss")
    docs += load_atom(corpus / "feeds" / "seto.atom")
    docs += load_jsonl(corpus / "wire.jsonl")
    return docs


def check(demo_dir: Path = DEMO_DIR) -> dict:
    docs = load_all(demo_dir)
    expected = json.loads((demo_dir / "expected.json").read_text(encoding="utf-8"))
    problems: list[str] = []

    by_url: dict[str, Doc] = {}
    for d in docs:
        if not d.url.startswith("https://") or ".example" not in d.url:
            problems.append(f"{d.origin}: bad url {d.url!r}")
        if d.url in by_url:
            problems.append(f"{d.origin}: url not unique {d.url}")
        by_url[d.url] = d
        if not d.outlet or not d.title or not d.text:
            problems.append(f"{d.origin}: missing outlet/title/text")

    event_of: dict[str, str] = {}
    for ev in expected["events"]:
        for u in ev["urls"]:
            if u in event_of:
                problems.append(f"{u} listed in {event_of[u]} and {ev['id']}")
            event_of[u] = ev["id"]
            if u not in by_url:
                problems.append(f"{ev['id']}: url not in corpus {u}")
    for u in by_url:
        if u not in event_of:
            problems.append(f"url in no event: {u}")

    dup_urls = set()
    for dup in expected["duplicates"]:
        a, b = by_url.get(dup["url"]), by_url.get(dup["of"])
        if a is None or b is None:
            problems.append(f"duplicate refers to unknown url: {dup}")
            continue
        dup_urls.add(dup["url"])
        if event_of.get(dup["url"]) != event_of.get(dup["of"]):
            problems.append(f"duplicate not in the event of its original: {dup['url']}")
        if dup["kind"] == "exact" and a.text != b.text:
            problems.append(f"exact duplicate text differs: {dup['url']}")
        if dup["kind"] == "near":
            ratio = difflib.SequenceMatcher(None, a.text, b.text).ratio()
            if a.text == b.text or ratio < 0.85:
                problems.append(f"near duplicate not near ({ratio:.2f}): {dup['url']}")

    ids = {ev["id"] for ev in expected["events"]}
    for pair in expected["lookalikes"]:
        if not set(pair) <= ids:
            problems.append(f"lookalike ids unknown: {pair}")
    english = [d for d in docs if d.lang == "en"]
    if len(english) != 1 or english[0].url != expected["english"]:
        problems.append("expected exactly one English article matching expected.json")

    outlets_per_event = {
        ev["id"]: sorted({by_url[u].outlet for u in ev["urls"] if u in by_url and u not in dup_urls})
        for ev in expected["events"]
    }
    counts = {
        "articles": len(docs),
        "ja": sum(d.lang == "ja" for d in docs),
        "en": len(english),
        "outlets": len({d.outlet for d in docs}),
        "events": len(expected["events"]),
        "events_3plus_outlets": sum(len(v) >= 3 for v in outlets_per_event.values()),
        "html": sum(d.origin.startswith("html/") for d in docs),
        "rss_items": sum(d.origin == "feeds/hokkai.rss" for d in docs),
        "atom_entries": sum(d.origin == "feeds/seto.atom" for d in docs),
        "jsonl_records": sum(d.origin.startswith("wire.jsonl") for d in docs),
        "charsets": dict(Counter(d.charset for d in docs if d.origin.startswith("html/"))),
        "html_without_published_meta": sum(d.origin.startswith("html/") and not d.published for d in docs),
        "duplicates": dict(Counter(dup["kind"] for dup in expected["duplicates"])),
    }
    return {"counts": counts, "outlets_per_event": outlets_per_event, "problems": problems}


def main() -> int:
    result = check()
    for key, value in result["counts"].items():
        print(f"{key}: {value}")
    for eid, outlets in result["outlets_per_event"].items():
        print(f"  {eid}: {len(outlets)} outlet(s) {', '.join(outlets)}")
    for p in result["problems"]:
        print("PROBLEM:", p)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
