"""Batch throughput against ``summarizer.testing.FakeOpenAIServer``, in one run.

    python benchmarks/batch_throughput.py            # full run, rewrites "## Batch throughput" in RESULTS.md
    python benchmarks/batch_throughput.py --quick    # small sizes, prints only

What it measures (every article is the seed article behind a unique first line,
so the reference draft grounds in each and no two share a cache key):

(a) ``run_batch`` (the library) over N articles at a fixed server latency and
    concurrency: wall time against the ideal N x latency / concurrency.
(b) the same through the ``summarizer batch`` console script in a subprocess
    (startup and the default cache included).
(c) a naive sequential loop of ``Summarizer.summarize``, extrapolated to N.
(d) (a) with 10% of requests answered 429 (Retry-After: 0): completions and retries.
(e) pipeline overhead per article with the LLM's latency at 0 and concurrency 1,
    over HTTP and in-process, and split by stage.
(f) peak RSS of the console script over 200 and 2,000 JSONL articles.

The server runs in a child process, so that the measured client has a CPU and a
GIL of its own. If (a) misses its goal the run profiles (a) with cProfile and
prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from results import write_section  # benchmarks/results.py: each script owns one section

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_PATH = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "article.txt"
DRAFT_PATH = ROOT / "fixtures" / "references" / "khamenei-moscow-exiles.json"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Batch throughput"
GOAL = 1.15

ARTICLE = ARTICLE_PATH.read_text(encoding="utf-8")
DRAFT: dict[str, Any] = json.loads(DRAFT_PATH.read_text(encoding="utf-8"))


def variant(i: int) -> str:
    """The seed article with a unique first line: the reference quotes still ground in it."""
    return f"[bench-{i:05d}]\n{ARTICLE}"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the server, in a child process


def serve(options: dict[str, Any]) -> None:
    """Child-process mode: run a FakeOpenAIServer; answer "stats"/"reset"/"quit" on stdin."""
    from summarizer.testing import FakeOpenAIServer

    with FakeOpenAIServer(DRAFT, keep_bodies=False, **options) as server:
        print(server.base_url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                stats = {
                    "requests": server.request_count,
                    "rate_limited": server.rate_limited,
                    "peak_in_flight": server.peak_in_flight,
                }
                print(json.dumps(stats), flush=True)
            elif command == "reset":
                server.reset_counts()
                print("{}", flush=True)
            elif command == "quit":
                break


class ServerProcess:
    def __init__(self, **options: Any) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            raise RuntimeError(f"the fake server did not start: {self.base_url!r}")

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --------------------------------------------------------------------------- runs


@dataclass
class LibraryRun:
    wall_s: float
    succeeded: int
    failed: int
    transport_retries: int
    server: dict[str, Any] = field(default_factory=dict)


def make_summarizer(base_url: str, *, max_retries: int = 4) -> Any:
    from dataclasses import replace

    from summarizer.config import Settings
    from summarizer.pipeline import Summarizer

    settings = Settings(base_url=base_url, api_key="bench")
    settings = replace(settings, retry=replace(settings.retry, max_retries=max_retries))
    return Summarizer(settings, cache=None)


def library_run(
    server: ServerProcess,
    n: int,
    concurrency: int,
    work: Path,
    *,
    max_retries: int = 4,
    profile: bool = False,
) -> tuple[LibraryRun, pstats.Stats | None]:
    """(a)/(d): run_batch over ``n`` articles; imports and the client are warmed up first."""
    from summarizer.batch.items import BatchItem, ResultWriter
    from summarizer.batch.runner import run_batch

    summarizer = make_summarizer(server.base_url, max_retries=max_retries)
    out = work / f"library-{n}-{concurrency}-{time.monotonic_ns()}.jsonl"
    profiler = cProfile.Profile() if profile else None

    async def main() -> tuple[Any, float]:
        await asyncio.gather(*(summarizer.asummarize(variant(-k - 1)) for k in range(2)))
        server.reset()
        items = (BatchItem(id=f"b{i:05d}", text=variant(i)) for i in range(n))
        writer = ResultWriter(out)
        try:
            if profiler is not None:
                profiler.enable()
            started = time.perf_counter()
            report = await run_batch(items, summarizer, writer, concurrency=concurrency)
            wall = time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
        finally:
            writer.close()
        return report, wall

    report, wall = asyncio.run(main())
    run = LibraryRun(wall, report.succeeded, report.failed, report.transport_retries, server.stats())
    out.unlink(missing_ok=True)
    return run, (pstats.Stats(profiler) if profiler is not None else None)


@dataclass
class CliRun:
    total_s: float  # the whole subprocess: interpreter start, imports, the run
    reported_s: float  # what the end-of-run report says
    exit_code: int
    summarized: int
    max_rss_mb: float


def cli_run(server: ServerProcess, source: Path, concurrency: int, work: Path) -> CliRun:
    """(b)/(f): the console script in a subprocess, with a fresh cache directory."""
    out = work / f"cli-{source.stem}-{time.monotonic_ns()}.jsonl"
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    env["SUMMARIZER_CACHE_DIR"] = str(cache)
    summarizer_script = Path(sys.executable).with_name("summarizer")
    command = [str(summarizer_script) if summarizer_script.exists() else "summarizer"]
    command += ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress"]
    command += ["--concurrency", str(concurrency)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    total = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    reported = re.search(r"transport retr\(ies\), ([\d.]+) s", stderr)
    summarized = re.search(r"^(\d+) summarized", stderr, re.MULTILINE)
    if proc.returncode != 0 or reported is None or summarized is None:
        raise RuntimeError(f"summarizer batch failed ({proc.returncode}):\n{stderr}")
    out.unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return CliRun(total, float(reported.group(1)), proc.returncode, int(summarized.group(1)), rss_mb)


def sequential_run(server: ServerProcess, n: int) -> float:
    """(c): seconds per article for a plain loop of ``Summarizer.summarize``."""
    summarizer = make_summarizer(server.base_url)
    summarizer.summarize(variant(-1))  # imports, client, connection
    started = time.perf_counter()
    for i in range(n):
        summarizer.summarize(variant(i))
    return (time.perf_counter() - started) / n


def in_process_overhead(n: int) -> tuple[float, dict[str, float]]:
    """(e): ms per article with the answer handed over in-process (no HTTP), and by stage."""
    import httpx
    from instructor.v2.core.function_calls import response_schema
    from instructor.v2.providers.openai.schema import generate_openai_schema

    from summarizer.batch.items import BatchItem
    from summarizer.batch.runner import success_record
    from summarizer.config import Settings
    from summarizer.extract.draft import DraftSummary, validation_context
    from summarizer.extract.grounding import Article
    from summarizer.extract.resolve import resolve
    from summarizer.pipeline import Summarizer
    from summarizer.schema import Summary
    from summarizer.testing import tool_call_completion

    body = json.dumps(tool_call_completion(DRAFT, prompt_tokens=1_000, completion_tokens=500)).encode()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"content-type": "application/json"})
    )
    summarizer = Summarizer(Settings(api_key="bench"), transport=transport, cache=None)
    summarizer.summarize(variant(-1))
    started = time.perf_counter()
    for i in range(n):
        summarizer.summarize(variant(i))
    total_ms = (time.perf_counter() - started) / n * 1000

    # The same work stage by stage on the seed article, through the pipeline's building blocks.
    raw = json.dumps(DRAFT, ensure_ascii=False)
    stages: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        for _ in range(n):
            result = fn()
        stages[name] = (time.perf_counter() - t0) / n * 1000
        return result

    article = timed("fold the article (`Article(text)`)", lambda: Article(ARTICLE))
    timed("render the prompt", lambda: summarizer.prompts.render(ARTICLE))
    timed(
        "instructor: wrap the response model, build its JSON schema (every call)",
        lambda: generate_openai_schema(response_schema(DraftSummary)),
    )
    draft = timed(
        "validate: tool-call JSON into `DraftSummary`, grounded (`find_problems`)",
        lambda: DraftSummary.model_validate_json(raw, context=validation_context(article)),
    )
    resolved = timed("resolve: ids, mentions, offsets (`resolve`)", lambda: resolve(draft, article))

    def build() -> Summary:
        summary = Summary(
            headline=resolved.headline,
            abstract=resolved.abstract,
            entities=resolved.entities,
            sources=resolved.sources,
            claims=resolved.claims,
        )
        assert not summary.check_offsets(ARTICLE)
        return summary

    summary = timed("build the `Summary`, check offsets", build)
    item = BatchItem(id="x", text=ARTICLE)
    timed(
        "the output line as JSON",
        lambda: json.dumps(success_record(item, summary), ensure_ascii=False, separators=(",", ":")),
    )
    return total_ms, stages


def write_inputs(work: Path, n: int) -> tuple[Path, Path]:
    """A folder of ``n`` .txt articles and a JSONL of the same."""
    folder = work / f"folder-{n}"
    folder.mkdir()
    jsonl = work / f"articles-{n}.jsonl"
    with jsonl.open("w", encoding="utf-8") as handle:
        for i in range(n):
            (folder / f"b{i:05d}.txt").write_text(variant(i), encoding="utf-8")
            handle.write(json.dumps({"id": f"b{i:05d}", "text": variant(i)}, ensure_ascii=False) + "\n")
    return folder, jsonl


# --------------------------------------------------------------------------- the profile


CATEGORIES = (
    ("summarizer/extract/grounding.py", "summarizer.extract.grounding (fold, mentions, locate)"),
    ("summarizer/extract/resolve.py", "summarizer.extract.resolve"),
    ("summarizer/extract/draft.py", "summarizer.extract.draft (find_problems)"),
    ("summarizer/", "summarizer (other)"),
    ("instructor/", "instructor"),
    ("openai/", "openai SDK"),
    ("pydantic", "pydantic (schema, validation)"),
    ("httpx", "httpx / httpcore"),
    ("httpcore", "httpx / httpcore"),
    ("tenacity", "tenacity"),
    ("select.epoll", "waiting for the network (epoll)"),
    ("asyncio", "asyncio"),
    ("json", "json"),
)


def profile_breakdown(stats: pstats.Stats, top: int = 12) -> tuple[list[tuple[str, float]], list[str]]:
    """Own time summed by package, and the costliest functions by own time."""
    totals: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{line}({name})"
        label = next((lab for key, lab in CATEGORIES if key in where), "other (builtins, stdlib)")
        totals[label] = totals.get(label, 0.0) + tottime
        rows.append((tottime, where))
    rows.sort(reverse=True)
    functions = []
    for tottime, where in rows[:top]:
        short = re.sub(r"^.*?/(site-packages|lib/python3\.\d+|main)/", "", where)
        functions.append(f"{tottime:6.2f} s  {short}")
    return sorted(totals.items(), key=lambda kv: -kv[1]), functions


# --------------------------------------------------------------------------- the report


def markdown(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| Measurement | Result | Notes |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sequential", type=int, default=20, help="articles in the naive loop (c)")
    parser.add_argument("--overhead", type=int, default=100, help="articles for the overhead runs (e)")
    parser.add_argument("--memory", default="200,2000", help="article counts for the memory runs (f)")
    parser.add_argument("--profile", action="store_true", help="profile (a) even if it meets the goal")
    parser.add_argument("--quick", action="store_true", help="small sizes; RESULTS.md is not touched")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if args.serve is not None:
        serve(json.loads(args.serve))
        return 0
    if args.quick:
        args.articles, args.sequential, args.overhead, args.memory = 40, 4, 10, "40,80"
        args.no_write = True

    load_before = os.getloadavg()[0]
    if load_before > 1.0:
        log(f"warning: load average {load_before:.2f}: other work competes for the CPU")
    n, latency, concurrency = args.articles, args.latency, args.concurrency
    ideal = n * latency / concurrency
    waves = -(-n // concurrency) * latency  # whole waves of requests: a floor above the ideal
    memory_sizes = [int(x) for x in args.memory.split(",")]
    rows: list[tuple[str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="summarizer-bench-"))
    try:
        folder, _ = write_inputs(work, n)

        with ServerProcess(latency=latency) as server:
            log(f"(a) run_batch: {n} articles, {latency} s latency, concurrency {concurrency}")
            lib, _ = library_run(server, n, concurrency, work)
            ratio = lib.wall_s / ideal
            verdict = "meets" if ratio <= GOAL else "misses"
            rows.append(
                (
                    f"(a) run_batch, {n} articles, {latency} s latency, concurrency {concurrency}",
                    f"**{lib.wall_s:.2f} s = {ratio:.2f}x ideal**",
                    f"ideal {ideal:.3f} s; whole waves alone take {waves:.2f} s ({waves / ideal:.2f}x); "
                    f"{verdict} the {GOAL}x goal; {lib.succeeded} ok, {lib.failed} failed; "
                    f"peak {lib.server['peak_in_flight']} requests in flight; "
                    f"{n / lib.wall_s:.1f} articles/s",
                )
            )

            log(f"(b) summarizer batch (subprocess): {n} articles")
            cli = cli_run(server, folder, concurrency, work)
            rows.append(
                (
                    "(b) `summarizer batch` CLI subprocess, same load",
                    f"{cli.total_s:.2f} s total; {cli.reported_s:.1f} s in the run",
                    f"{cli.total_s / ideal:.2f}x ideal end to end, {cli.reported_s / ideal:.2f}x for the run "
                    f"itself; the rest is interpreter start and imports; fresh cache on (default); "
                    f"{cli.summarized} summarized",
                )
            )

            log(f"(c) sequential Summarizer.summarize: {args.sequential} articles")
            per_article = sequential_run(server, args.sequential)
            rows.append(
                (
                    f"(c) sequential `Summarizer.summarize` loop, {args.sequential} articles",
                    f"{per_article:.3f} s/article -> {per_article * n:.1f} s for {n}",
                    f"{per_article * n / lib.wall_s:.1f}x slower than (a); "
                    f"{(per_article - latency) * 1000:.0f} ms over the latency per article",
                )
            )

        with ServerProcess(latency=latency, rate_limit_every=10, retry_after=0) as server:
            log(f"(d) run_batch with every 10th request answered 429: {n} articles")
            limited, _ = library_run(server, n, concurrency, work, max_retries=10)
            served = limited.server
            rows.append(
                (
                    "(d) (a) with 10% of requests answered 429 (Retry-After: 0)",
                    f"{limited.succeeded}/{n} completed in {limited.wall_s:.2f} s",
                    f"{served['rate_limited']} 429s served, {limited.transport_retries} transport retries "
                    f"booked ({'equal' if served['rate_limited'] == limited.transport_retries else 'MISMATCH'}); "
                    f"{served['requests']} requests; {limited.failed} failed",
                )
            )

        with ServerProcess(latency=0) as server:
            log(f"(e) overhead: {args.overhead} articles, latency 0, concurrency 1")
            overhead_http, _ = library_run(server, args.overhead, 1, work)
            in_process_ms, stages = in_process_overhead(args.overhead)
            rows.append(
                (
                    "(e) pipeline overhead per article, LLM excluded (latency 0, concurrency 1)",
                    f"**{overhead_http.wall_s / args.overhead * 1000:.1f} ms** over HTTP; "
                    f"{in_process_ms:.1f} ms in-process",
                    f"seed article ({len(ARTICLE):,} chars, 30 claims); one core; "
                    f"caps one event loop at ~{1000 / (overhead_http.wall_s / args.overhead * 1000):.0f} "
                    "articles/s whatever the concurrency",
                )
            )
            for name, ms in stages.items():
                rows.append((f"(e) &nbsp; stage: {name}", f"{ms:.2f} ms", "seed article, in-process"))

            for size in memory_sizes:
                log(f"(f) memory: summarizer batch over {size} JSONL articles, latency 0")
                _, jsonl = write_inputs(work, size) if size != n else (None, work / f"articles-{n}.jsonl")
                run = cli_run(server, jsonl, concurrency, work)
                rows.append(
                    (
                        f"(f) peak RSS, `summarizer batch` over {size:,} JSONL articles",
                        f"{run.max_rss_mb:.0f} MB",
                        f"latency 0, concurrency {concurrency}; {run.reported_s:.1f} s; input "
                        f"{jsonl.stat().st_size / 1e6:.1f} MB",
                    )
                )

        profile_text = ""
        if ratio > GOAL or args.profile:
            with ServerProcess(latency=latency) as server:
                log("profiling (a) with cProfile")
                profiled, stats = library_run(server, n, concurrency, work, profile=True)
            assert stats is not None
            totals, functions = profile_breakdown(stats)
            lines = [
                f"cProfile of (a) (wall {profiled.wall_s:.2f} s under the profiler, which inflates "
                "Python-heavy code). Own time by package:",
                "",
                *(f"- {label}: {seconds:.2f} s" for label, seconds in totals[:10]),
                "",
                "Costliest functions by own time:",
                "",
                "```",
                *functions,
                "```",
            ]
            profile_text = "\n".join(lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    from importlib.metadata import version

    header = (
        f"Run {dt.date.today().isoformat()} with `python benchmarks/batch_throughput.py` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"summarizer {version('summarizer')}. Server: `summarizer.testing.FakeOpenAIServer` "
        "in a child process, answering the reference draft; each article is the seed article with a unique "
        "first line; no re-asks. Load average before the run: "
        f"{load_before:.2f} (the machine is shared: a busy one inflates every CPU-bound figure)."
    )
    table = markdown(rows)
    output = io.StringIO()
    print(header, file=output)
    print(file=output)
    print(table, file=output)
    if profile_text:
        print(file=output)
        print(profile_text, file=output)
    print(output.getvalue())
    if not args.no_write:
        write_section(SECTION, output.getvalue(), args.results)
        log(f"wrote the {SECTION!r} section of {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
