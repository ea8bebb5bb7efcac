"""Command line: the interface of ../shared/CONTRACT.md.

Exit status: 0 success; 2 bad usage or input the user must fix (one line on
stderr saying what and where); 1 anything else. Bad single records are
reported one line each and counted, never fatal.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matome import __version__, worker
from matome import settings as settings_mod
from matome.errors import MatomeError, RecordError, UsageError
from matome.site import readmodel
from matome.store import Store, db_url

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="matome: Japanese-first news curation with cited, verified stories.")
site_app = typer.Typer(no_args_is_help=True, help="Publish the static site.")
app.add_typer(site_app, name="site")
err = Console(stderr=True)
out = Console()


class _State:
    db: str = ""
    config: Path | None = None


state = _State()


@app.callback()
def _main(
    db: Annotated[str | None, typer.Option("--db", envvar="MATOME_DB",
                                           help="SQLite path or SQLAlchemy URL.")] = None,
    config: Annotated[Path | None, typer.Option("--config", envvar="MATOME_CONFIG",
                                                help="matome.toml to read.")] = None,
) -> None:
    state.db = db_url(db)
    state.config = config


def _settings() -> settings_mod.Settings:
    return settings_mod.load(state.config)


class RichProgress:
    """Progress bars on stderr, one line per bad record."""

    def __init__(self, enabled: bool) -> None:
        self.bar = Progress(TextColumn("{task.description:<16}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                            disable=not enabled, transient=False)
        # each thread's current bar: a stage may run beside another (``batch.alongside``)
        self.tasks: dict[int, Any] = {}

    def __enter__(self) -> RichProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def start(self, stage: str, total: int) -> None:
        self.tasks[threading.get_ident()] = self.bar.add_task(stage, total=total or 1,
                                                              completed=0 if total else 1)

    def advance(self, n: int = 1) -> None:
        task = self.tasks.get(threading.get_ident())
        if task is not None:
            self.bar.advance(task, n)

    def error(self, e: RecordError) -> None:
        self.bar.console.print(f"[yellow]skipped[/] {e}", markup=True, highlight=False,
                               soft_wrap=True)


def _progress() -> RichProgress:
    return RichProgress(enabled=err.is_terminal and not os.environ.get("CI"))


def _table(title: str, rows: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    for k, v in rows.items():
        table.add_row(k, str(v))
    err.print(table)


@app.command()
def ingest(targets: Annotated[list[str], typer.Argument(help="Files, directories or URLs.")]) -> None:
    """Add sources: JSONL, HTML pages or directories of them, RSS/Atom feeds, URLs."""
    from matome import pipeline  # here, not at the top: `serve` and `export` never load the stages

    store = Store(state.db)
    with _progress() as progress:
        report = pipeline.ingest(store, targets, _settings(), progress)
    c = report.counts
    _table("ingest", {"new": c["new"], "changed (new versions)": c["changed"], "unchanged": c["same"],
                      "known under a new GUID": c["rotated"], "rejected": c["rejected"]})


@app.command()
def process(
    engine: Annotated[str, typer.Option(help="Where extract, analyze and writing run: 'local' (here) "
                                        "or 'ray' (a Ray cluster; docs/scaling.md).")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address for --engine ray "
                                                "('auto', 'ray://HOST:10001'); none: a local one.")] = None,
) -> None:
    """Run every stage over what is new, up to a publishable state."""
    from matome import pipeline

    if engine not in ("local", "ray"):
        raise UsageError(f"--engine: 'local' or 'ray', not {engine!r}")
    store = Store(state.db)
    settings = _settings()
    runner = None
    if engine == "ray":
        from matome.scale.ray_engine import RayEngine

        runner = RayEngine(settings.scale, address)
    try:
        with _progress() as progress:
            report = pipeline.process(store, settings, progress, engine=runner)
    finally:
        if runner is not None:
            runner.close()
    _table("process", pipeline.run_summary(store, report))


@app.command("export")
def export_cmd(
    what: Annotated[str, typer.Argument(help="stories, tags or articles")],
    fmt: Annotated[str, typer.Option("--format", help="Output format.")] = "jsonl",
    evidence: Annotated[bool, typer.Option(help="Stories: add per-article grouping scores.")] = False,
) -> None:
    """Print one JSON object per story, tag or article."""
    if what not in {"stories", "tags", "articles"}:
        raise UsageError(f"export: unknown kind {what!r} (stories, tags or articles)")
    if fmt != "jsonl":
        raise UsageError(f"export: unknown format {fmt!r} (jsonl)")
    store = Store(state.db, readonly=True)
    primary = _settings().writer.primary
    for obj in readmodel.export(store, what, evidence=evidence, primary=primary):
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


@app.command()
def extract(
    target: Annotated[str, typer.Argument(help="An HTML file or URL.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Extract one page and print it; nothing is stored."""
    from matome import extract as ex
    from matome.ingest import poll

    settings = _settings()
    docs = list(poll.read_once(target, settings))
    for doc in docs:
        if isinstance(doc, RecordError):
            raise UsageError(str(doc))
        article = ex.extract(doc, settings.extract)
        data = {"url": article.url, "title": article.title, "text": article.text,
                "published": readmodel.iso(article.published), "author": article.author,
                "source": article.source, "lang": article.lang, "encoding": article.encoding,
                "encoding_reason": article.encoding_reason,
                # beyond the contract's fields: what the page is and what was noticed about it
                "kind": article.kind, "flags": article.flags, "updated": article.updated or None,
                "published_raw": article.published_raw, "published_how": article.published_how}
        if as_json:
            sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            out.print(f"[bold]{article.title}[/]\n{article.source} {data['published'] or ''}\n")
            out.print(article.text, markup=False, highlight=False)


@site_app.command("build")
def site_build(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write.")],
    full: Annotated[bool, typer.Option("--full", help="Rebuild every page, not only what changed.")] = False,
) -> None:
    """Write the static site into DIR: only the pages that changed since the last build
    (each replaced atomically), or all of them (the directory replaced whole)."""
    from matome.site import build

    settings = _settings()
    store = build.open_indexed(state.db, settings, lambda why: err.print(f"warning: {why}"))
    done = build.publish(store, out_dir, settings, full=full)
    if done.full:
        err.print(f"built {done.written} pages in {out_dir}")
    else:
        err.print(f"updated {done.written} of {done.looked_at} pages that may have changed, "
                  f"removed {done.removed}, in {out_dir}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="Processes serving in parallel (each holds its "
                                              "own copy of the catalog).")] = 1,
    concurrency: Annotated[int, typer.Option(help="Requests in progress at once, per worker; "
                                                  "more are answered 503 with Retry-After.")] = 128,
) -> None:
    """Serve the site and its JSON API (docs/serving.md: running it in production)."""
    import uvicorn

    from matome.site import create_app

    if workers < 1 or concurrency < 1:
        raise UsageError("serve: --workers and --concurrency must be at least 1")
    options: dict[str, Any] = dict(
        host=host, port=port, log_level="warning",
        timeout_keep_alive=5,             # idle keep-alive connections are closed, not hoarded
        timeout_graceful_shutdown=3,      # SIGTERM: in-flight requests get 3 s, then exit
        limit_concurrency=max(1024, 4 * concurrency),  # connections: a backstop for descriptors
        backlog=2048)
    if workers == 1:
        # built before listening: a store that cannot be read is one error now, not a 500 per page
        live_app = create_app(state.db, _settings(), concurrency=concurrency)
        err.print(f"serving on http://{host}:{port}/")
        uvicorn.run(live_app, **options)
        # Stopped. Python waits for its worker threads before exiting; should one be stuck
        # in some call, a stop request must still end the process.
        import threading

        watchdog = threading.Timer(5.0, os._exit, (0,))
        watchdog.daemon = True
        watchdog.start()
        return
    # several processes: uvicorn imports the app in each, configured through the environment
    os.environ.update(MATOME_DB=state.db, MATOME_SERVE_CONCURRENCY=str(concurrency))
    if state.config is not None:
        os.environ["MATOME_CONFIG"] = str(state.config.absolute())
    _settings()  # a bad matome.toml or database: one clear error here, not one per worker
    Store(state.db, readonly=True).close()
    err.print(f"serving on http://{host}:{port}/ with {workers} workers")
    uvicorn.run("matome.site.server:from_env", factory=True, workers=workers, **options)


@app.command()
def sources() -> None:
    """Configured sources and their health (from the last polls of `matome watch`)."""
    from matome.store import ingest_state

    settings = _settings()
    store = Store(state.db, readonly=True)
    health = ingest_state.health(store)
    counts = store.raw_counts_by_source()
    table = Table("name", "path", "every", "stored", "last poll", "last success", "errors in a row",
                  "last error", "note")

    def when(v: Any) -> str:
        return v.strftime("%Y-%m-%d %H:%M") + "Z" if v else "-"

    for s in settings.sources:
        h = health.get(s.name, {})
        table.add_row(s.name + ("" if s.enabled else " (disabled)"), s.path, f"{s.interval:g}s",
                      str(counts.get(s.name, 0)), when(h.get("last_poll")),
                      when(h.get("last_success")), str(h.get("error_streak", 0)),
                      h.get("last_error") or "-", h.get("note") or "-")
    out.print(table)


@app.command()
def watch(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Rebuild this site after new work.")] = None,
    once: Annotated[bool, typer.Option(help="Poll every source once, process, publish and exit.")] = False,
) -> None:
    """Keep polling configured sources (each on its interval), processing and republishing."""
    from matome.watch import Watcher

    settings = _settings()
    if not settings.sources:
        raise UsageError("watch: no [[sources]] in matome.toml")
    sys.exit(Watcher(state.db, settings, out_dir, once=once).run())


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where to build the site.")] = Path("site"),
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Exit after building.")] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Ingest the bundled demo corpus, process it, build the site and serve it."""
    from importlib import resources

    from matome import pipeline
    from matome.site import Site

    corpus = resources.files("matome").joinpath("demo/corpus")
    # The demo's own themes, unless the user gave a config of their own.
    bundled = Path(str(resources.files("matome").joinpath("demo/matome.toml")))
    settings = settings_mod.load(state.config or settings_mod.config_path() or bundled)
    store = Store(state.db)
    with _progress() as progress:
        pipeline.ingest(store, [str(corpus)], settings, progress)
        pipeline.process(store, settings, progress)
    count = Site(readmodel.load(store, settings.writer.primary), settings).build(out_dir)
    _table("demo", {**pipeline.summary(store, lambda: count), "site": str(out_dir)})
    if not no_serve:
        serve(host=host, port=port)


def main() -> None:
    """Run the CLI; typer itself answers usage errors (exit 2) and --help."""
    worker.tune_gc()
    try:
        app()
        code = 0
    except MatomeError as exc:
        err.print(f"matome: error: {exc}", markup=False, highlight=False)
        code = exc.exit_code
    except Exception as exc:  # one clear line, not a traceback, unless asked
        if os.environ.get("MATOME_DEBUG"):
            raise
        err.print(f"matome: internal error: {exc.__class__.__name__}: {exc} "
                  "(set MATOME_DEBUG=1 for the traceback)", markup=False, highlight=False)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["__version__", "app", "main"]
