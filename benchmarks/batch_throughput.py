"""Batch throughput against ``summarizer.testing.FakeOpenAIServer``: four ways side by side, in one run.

    python benchmarks/batch_throughput.py            # full run, rewrites "## Batch throughput" in RESULTS.md
    python benchmarks/batch_throughput.py --quick    # small sizes, prints only

For each load (latency L, concurrency C, with or without 10% of requests answered 429 with
``Retry-After``), the same N distinct articles go through, one after another against one server.
Article i is the seed article behind a unique first line, with its commonest short words spelled
its own way ("the" as "theqbaf" in one, "theqbag" in the next); the server answers it with the
reference draft spelled the same way. So each draft grounds in its article, and no two articles
share a cache key or the texts of their statements and quotes, as a day's articles do not: the
library's process-wide memories of folded text (``extract/folding.py``) help as much as they
would in a real batch (names recur, sentences do not), not 256 times over one draft. The ways:

- **raw openai SDK**: ``AsyncOpenAI`` (its own default client), gather + semaphore, the same
  request body (prompt, tool, tool_choice), the answer left unparsed;
- **instructor by hand**: what a user writes in twenty lines: ``instructor.from_openai``,
  ``response_model=DraftSummary``, gather + semaphore (no grounding, no resolve);
- **our library**: ``Summarizer(max_in_flight=C).asummarize`` over every article at once (gather,
  no semaphore of the caller's): the limit holds a slot while a request is out, not while its
  answer is checked (grounded, resolved);
- **our library, caller's semaphore**: ``Summarizer.asummarize`` under gather + semaphore, as
  instructor by hand is used (shown for comparison: here a wave's checks hold every slot);
- **our CLI**: ``summarizer batch FOLDER -o OUT.jsonl --concurrency C`` in a subprocess, default
  (fresh) cache on: C requests out at once, up to 2C articles in progress; both end to end
  (interpreter start and imports included) and the run alone (the time its own report gives).

Figure = wall / ideal, ideal = N x L / C (429s add work above it: the floor is given). The
order of the four rotates from load to load. CPU per article at C=64 is the process's CPU time
over the run (the CLI's includes its start-up), and peak RSS of ``summarizer batch`` over a
small and a large JSONL shows whether memory is flat.

The server runs in a child process, so that the measured client has a CPU and a GIL of its own.
``--profile`` adds a cProfile of the library at (L=1.0, C=64).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import gc
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from results import write_section  # benchmarks/results.py: each script owns one section

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_PATH = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "article.txt"
DRAFT_PATH = ROOT / "fixtures" / "references" / "khamenei-moscow-exiles.json"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Batch throughput"
RATE_LIMIT_EVERY = 10  # every 10th request answered 429
RETRY_AFTER_S = 0.1  # ... with this Retry-After, which every client here honours
MAX_RETRIES = 10

ARTICLE = ARTICLE_PATH.read_text(encoding="utf-8")
DRAFT: dict[str, Any] = json.loads(DRAFT_PATH.read_text(encoding="utf-8"))


_SHORT_WORDS = re.compile(r"\b(the|and|said|of|to|in|a)\b")
_HEADER = re.compile(r"\[bench-(-?\d+)\]")


def spelled(text: str, i: int) -> str:
    """``text`` with its commonest short words spelled as article ``i`` spells them."""
    code, n = "", i + 10_000  # (warm-up articles have negative numbers)
    while n:
        n, digit = divmod(n, 26)
        code += chr(ord("a") + digit)
    return _SHORT_WORDS.sub(lambda m: f"{m.group()}q{code}", text)


def variant(i: int) -> str:
    """Article ``i``: the seed article behind a unique first line, spelled its own way."""
    return f"[bench-{i:05d}]\n{spelled(ARTICLE, i)}"


def draft_for(i: int) -> dict[str, Any]:
    """The reference draft for article ``i``: spelled as the article is, so it grounds in it."""

    def respell(value: Any) -> Any:
        if isinstance(value, str):
            return spelled(value, i)
        if isinstance(value, list):
            return [respell(v) for v in value]
        if isinstance(value, dict):
            return {
                k: (v if k in ("id", "type", "kind", "attribution") else respell(v)) for k, v in value.items()
            }
        return value

    return respell(DRAFT)


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The server's answer: the draft for the article the request carries (its first line)."""
    found = _HEADER.search(json.dumps(body["messages"][-1]["content"]))
    if found is None:
        raise ValueError("a request without a benchmark article")
    return draft_for(int(found.group(1)))


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the server, in a child process


def serve(options: dict[str, Any]) -> None:
    """Child-process mode: run a FakeOpenAIServer; answer "stats"/"reset"/"quit" on stdin."""
    from summarizer.testing import FakeOpenAIServer

    with FakeOpenAIServer(answer=answer, keep_bodies=False, **options) as server:
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


# --------------------------------------------------------------------------- the four ways


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    completed: int
    extra: dict[str, Any] = field(default_factory=dict)
    gc_s: float = 0.0  # of cpu_s, the cyclic garbage collector's passes (gc.callbacks)


class CollectorClock:
    """Time spent in the cyclic garbage collector while it is installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.total_s, self._started = 0.0, 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.total_s += time.process_time() - self._started

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


class Batch:
    """Summarize texts C at a time with gather + a semaphore; ``aclose`` closes the client."""

    def __init__(
        self,
        concurrency: int | None,  # None: every text at once (the callee bounds itself)
        one: Callable[[str], Awaitable[Any]],
        aclose: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.concurrency, self.one, self._aclose = concurrency, one, aclose

    async def __call__(self, texts: list[str]) -> int:
        gate = asyncio.Semaphore(self.concurrency or len(texts) or 1)

        async def guarded(text: str) -> Any:
            async with gate:
                return await self.one(text)

        results = await asyncio.gather(*(guarded(t) for t in texts))
        return sum(r is not None for r in results)

    async def aclose(self) -> None:
        if self._aclose is not None:
            await self._aclose()


def raw_sdk(base_url: str, concurrency: int) -> Batch:
    """The openai SDK alone, with the exact request body the pipeline sends (tool included)."""
    import instructor
    import openai

    from summarizer.extract.prompts import load_prompts
    from summarizer.llm.structured import StructuredCall

    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=MAX_RETRIES)
    prompts = load_prompts(None)
    tool = StructuredCall(instructor.Mode.TOOLS).extra or {}

    async def one(text: str) -> Any:
        return await client.chat.completions.create(
            model="gpt-4o-mini", messages=prompts.render(text), max_tokens=8000, **tool
        )

    return Batch(concurrency, one, client.close)


def instructor_by_hand(base_url: str, concurrency: int) -> Batch:
    """What a user writes: instructor over the SDK, gather + a semaphore, about twenty lines."""
    import instructor
    import openai

    from summarizer.extract.draft import DraftSummary
    from summarizer.extract.prompts import load_prompts

    sdk = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=MAX_RETRIES)
    client = instructor.from_openai(sdk)
    prompts = load_prompts(None)

    async def one(text: str) -> Any:
        return await client.chat.completions.create(
            model="gpt-4o-mini",
            response_model=DraftSummary,
            messages=prompts.render(text),
            max_tokens=8000,
            max_retries=0,
        )

    return Batch(concurrency, one, sdk.close)


def _summarizer(base_url: str, max_in_flight: int | None) -> Any:
    from dataclasses import replace

    from summarizer.config import Settings
    from summarizer.pipeline import Summarizer

    settings = Settings(base_url=base_url, api_key="bench", max_in_flight=max_in_flight)
    settings = replace(settings, retry=replace(settings.retry, max_retries=MAX_RETRIES))
    return Summarizer(settings, cache=None)


def library(base_url: str, concurrency: int) -> Batch:
    """Our library as documented for many articles: ``max_in_flight=C`` bounds the requests out,
    and every article is started at once (gather, no semaphore of the caller's)."""
    summarizer = _summarizer(base_url, concurrency)
    return Batch(None, summarizer.asummarize)


def library_semaphore(base_url: str, concurrency: int) -> Batch:
    """Our library used like instructor by hand: the caller's semaphore around whole articles."""
    summarizer = _summarizer(base_url, None)
    return Batch(concurrency, summarizer.asummarize)


IN_PROCESS: dict[str, Callable[[str, int], Batch]] = {
    "raw openai SDK": raw_sdk,
    "instructor by hand": instructor_by_hand,
    "our library": library,
    "our library, caller's semaphore": library_semaphore,
}
CLI = "`summarizer batch`"


def in_process_run(
    make: Callable[[str, int], Batch],
    server: ServerProcess,
    texts: list[str],
    concurrency: int,
    profiler: cProfile.Profile | None = None,
) -> Run:
    """One way over ``texts`` in a fresh event loop; imports, client and connections warmed first."""
    batch = make(server.base_url, concurrency)

    async def main() -> Run:
        await batch([variant(-k - 1) for k in range(min(concurrency, 8))])
        server.reset()
        if profiler is not None:
            profiler.enable()
        cpu, started = time.process_time(), time.perf_counter()
        with CollectorClock() as collector:
            completed = await batch(texts)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
        await batch.aclose()
        return Run(wall, cpu, completed, server.stats(), collector.total_s)

    return asyncio.run(main())


@dataclass
class CliRun:
    total_s: float  # the whole subprocess: interpreter start, imports, the run
    reported_s: float  # what the end-of-run report says
    exit_code: int
    summarized: int
    max_rss_mb: float
    cpu_s: float  # user + system time of the subprocess, start-up included
    retries: int


def cli_run(server: ServerProcess, source: Path, concurrency: int, work: Path) -> CliRun:
    """The console script in a subprocess, with a fresh cache directory."""
    out = work / f"cli-{source.stem}-{time.monotonic_ns()}.jsonl"
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    env["SUMMARIZER_CACHE_DIR"] = str(cache)
    summarizer_script = Path(sys.executable).with_name("summarizer")
    command = [str(summarizer_script) if summarizer_script.exists() else "summarizer"]
    command += ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress"]
    command += ["--concurrency", str(concurrency), "--max-retries", str(MAX_RETRIES)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    total = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    reported = re.search(r"transport retr\(ies\), ([\d.]+) s", stderr)
    summarized = re.search(r"^(\d+) summarized", stderr, re.MULTILINE)
    retries = re.search(r"(\d+) transport retr\(ies\)", stderr)
    if proc.returncode != 0 or reported is None or summarized is None:
        raise RuntimeError(f"summarizer batch failed ({proc.returncode}):\n{stderr}")
    out.unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return CliRun(
        total,
        float(reported.group(1)),
        proc.returncode,
        int(summarized.group(1)),
        rss_mb,
        usage.ru_utime + usage.ru_stime,
        int(retries.group(1)) if retries else 0,
    )


def write_folder(work: Path, n: int) -> Path:
    folder = work / f"folder-{n}"
    folder.mkdir()
    for i in range(n):
        (folder / f"b{i:05d}.txt").write_text(variant(i), encoding="utf-8")
    return folder


def write_jsonl(work: Path, n: int) -> Path:
    jsonl = work / f"articles-{n}.jsonl"
    with jsonl.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"b{i:05d}", "text": variant(i)}, ensure_ascii=False) + "\n")
    return jsonl


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


@dataclass(frozen=True)
class Load:
    latency: float
    concurrency: int
    rate_limited: bool = False

    @property
    def label(self) -> str:
        extra = f", 10% 429 (Retry-After {RETRY_AFTER_S:g} s)" if self.rate_limited else ""
        return f"{self.latency:g} s, {self.concurrency}{extra}"

    def server_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"latency": self.latency}
        if self.rate_limited:
            options.update(rate_limit_every=RATE_LIMIT_EVERY, retry_after=RETRY_AFTER_S)
        return options


LOADS = (
    Load(1.0, 16),
    Load(1.0, 64),
    Load(0.2, 16),
    Load(0.2, 64),
    Load(1.0, 16, rate_limited=True),
    Load(1.0, 64, rate_limited=True),
)
WAYS = (*IN_PROCESS, CLI)
IN_PROCESS_ORDER = tuple(IN_PROCESS)
CPU_LOAD = Load(1.0, 64)  # where CPU per article is measured
CPU_REPEATS = 3  # runs of each in-process way there (the CLI's CPU is from its one run)


@dataclass(frozen=True)
class Sample:
    cpu_s: float  # per article
    gc_s: float | None  # of it, the collector's (None: not measured, the CLI's subprocess)
    wall_s: float


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--articles", type=int, default=256)
    parser.add_argument("--memory", default="200,5000", help="article counts for the memory runs")
    parser.add_argument("--profile", action="store_true", help="cProfile the library at (1.0 s, 64)")
    parser.add_argument("--quick", action="store_true", help="small sizes; RESULTS.md is not touched")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if args.serve is not None:
        serve(json.loads(args.serve))
        return 0
    loads = LOADS
    if args.quick:
        args.articles, args.memory, args.no_write = 64, "40,80", True
        loads = (Load(0.2, 16), Load(0.2, 64, rate_limited=True))

    load_before = os.getloadavg()[0]
    n = args.articles
    texts = [variant(i) for i in range(n)]
    cells: dict[tuple[Load, str], str] = {}
    cpu_at_64: dict[str, list[Sample]] = {}
    notes: list[str] = []
    profile_text = ""
    work = Path(tempfile.mkdtemp(prefix="summarizer-bench-"))
    try:
        folder = write_folder(work, n)
        for number, load in enumerate(loads):
            ideal = n * load.latency / load.concurrency
            order = WAYS[number % len(WAYS) :] + WAYS[: number % len(WAYS)]
            with ServerProcess(**load.server_options()) as server:
                for way in order:
                    log(f"{load.label}: {way}")
                    if way == CLI:
                        server.reset()
                        cli = cli_run(server, folder, load.concurrency, work)
                        served = server.stats()
                        cells[load, way] = (
                            f"**{cli.reported_s / ideal:.3f}x** run, {cli.total_s / ideal:.3f}x end to end"
                        )
                        wall, cpu, done, collector_s = cli.reported_s, cli.cpu_s, cli.summarized, None
                    else:
                        run = in_process_run(IN_PROCESS[way], server, texts, load.concurrency)
                        served = run.extra
                        cells[load, way] = f"**{run.wall_s / ideal:.3f}x**"
                        wall, cpu, done, collector_s = run.wall_s, run.cpu_s, run.completed, run.gc_s
                    if done != n:
                        cells[load, way] += f" ({done}/{n} done)"
                    if load.rate_limited:
                        cells[load, way] += f", {served['rate_limited']} 429s"
                    if load == CPU_LOAD:
                        gc_per_article = None if collector_s is None else collector_s / n
                        cpu_at_64.setdefault(way, []).append(Sample(cpu / n, gc_per_article, wall))
            if load.rate_limited:
                # Each 429 costs its Retry-After and one more full latency in its slot.
                extra = (n // RATE_LIMIT_EVERY) * (RETRY_AFTER_S + load.latency) / load.concurrency
                notes.append(
                    f"{load.label}: ideal {ideal:.2f} s; the retries alone add about "
                    f"{extra:.2f} s ({(ideal + extra) / ideal:.2f}x floor)"
                )
            else:
                notes.append(f"{load.label}: ideal {ideal:.2f} s")

        if CPU_LOAD in loads:
            # CPU per article moves by 10-20% from run to run here: the in-process ways are run
            # again at this load, interleaved, and the table gives each one's median.
            with ServerProcess(**CPU_LOAD.server_options()) as server:
                for repeat in range(1, CPU_REPEATS):
                    for way in IN_PROCESS_ORDER[repeat:] + IN_PROCESS_ORDER[:repeat]:
                        log(f"{CPU_LOAD.label}, CPU repeat {repeat}: {way}")
                        run = in_process_run(IN_PROCESS[way], server, texts, CPU_LOAD.concurrency)
                        cpu_at_64[way].append(Sample(run.cpu_s / n, run.gc_s / n, run.wall_s))

        memory_rows = []
        with ServerProcess(latency=0) as server:
            for size in [int(x) for x in args.memory.split(",")]:
                log(f"memory: summarizer batch over {size} JSONL articles, latency 0")
                jsonl = write_jsonl(work, size)
                run = cli_run(server, jsonl, 64, work)
                memory_rows.append(
                    f"| {size:,} | {run.max_rss_mb:.0f} MB | {run.reported_s:.1f} s | "
                    f"{jsonl.stat().st_size / 1e6:.1f} MB |"
                )
                jsonl.unlink()

        if args.profile:
            with ServerProcess(latency=1.0) as server:
                log("profiling the library at (1.0 s, 64)")
                profiler = cProfile.Profile()
                run = in_process_run(library, server, texts, 64, profiler)
            totals, functions = profile_breakdown(pstats.Stats(profiler))
            profile_text = "\n".join(
                [
                    f"cProfile of our library at (1.0 s, 64) (wall {run.wall_s:.2f} s under the profiler, "
                    "which inflates Python-heavy code). Own time by package:",
                    "",
                    *(f"- {label}: {seconds:.2f} s" for label, seconds in totals[:10]),
                    "",
                    "Costliest functions by own time:",
                    "",
                    "```",
                    *functions,
                    "```",
                ]
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]

    from importlib.metadata import version

    versions = ", ".join(f"{name} {version(name)}" for name in ("openai", "instructor", "httpx", "aiohttp"))
    header = (
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `python benchmarks/batch_throughput.py` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU(s), Python "
        f"{platform.python_version()}, summarizer {version('summarizer')} ({versions}). Server: "
        "`summarizer.testing.FakeOpenAIServer` in a child process, answering each article after the "
        "latency L with the reference draft spelled as that article is (the script's docstring: no two "
        f"share a statement or a quote); {n} distinct articles, one call each, no re-asks. Load average "
        f"{load_before:.2f} before the run, {load_after:.2f} after (the machine is shared: a busy one "
        "inflates every CPU-bound figure)."
    )
    table = ["| L, C | " + " | ".join(WAYS) + " |", "|---" * (len(WAYS) + 1) + "|"]
    for load in loads:
        table.append(f"| {load.label} | " + " | ".join(cells[load, way] for way in WAYS) + " |")
    output = io.StringIO()
    print(header, file=output)
    print(file=output)
    print("Wall time / ideal (ideal = N x L / C; lower is better, 1.00x is perfect):", file=output)
    print(file=output)
    print("\n".join(table), file=output)
    print(file=output)
    for note in notes:
        print(f"- {note}", file=output)
    print(
        "- `summarizer batch`: `--concurrency C` bounds requests (C out at once, up to 2C articles in "
        'progress); "run" is the time its end-of-run report gives; "end to end" adds '
        "the interpreter start and imports (a fresh cache directory each time, the default cache on).",
        file=output,
    )
    if cpu_at_64:
        print(file=output)
        print("CPU per article at (1.0 s, 64), the client process only:", file=output)
        print(file=output)
        print(markdown(cpu_rows(cpu_at_64), ("Way", "CPU / article", "Notes")), file=output)
        print(file=output)
        print(
            "(the CLI's CPU includes its start-up: interpreter, imports, reading the folder. The ratio to "
            "the raw SDK's is the figure that carries to another machine: absolute milliseconds "
            "follow the machine and its load)",
            file=output,
        )
    print(file=output)
    print("Peak RSS of `summarizer batch` (JSONL input, latency 0, concurrency 64):", file=output)
    print(file=output)
    print("| articles | peak RSS | run | input |\n|---|---|---|---|", file=output)
    print("\n".join(memory_rows), file=output)
    if profile_text:
        print(file=output)
        print(profile_text, file=output)
    print(output.getvalue())
    if not args.no_write:
        write_section(SECTION, output.getvalue(), args.results)
        log(f"wrote the {SECTION!r} section of {args.results}")
    return 0


def cpu_rows(cpu_at_64: dict[str, list[Sample]]) -> list[tuple[str, str, str]]:
    """One row per way: the median CPU per article over its runs (and their range), and beside
    it the ratio to the raw SDK's median (the same machine, the same run), the collector's
    share and the wall time."""
    raw_samples = cpu_at_64.get("raw openai SDK", [])
    raw = statistics.median(s.cpu_s for s in raw_samples) if raw_samples else 0.0
    rows = []
    for way, samples in cpu_at_64.items():
        cpu = statistics.median(s.cpu_s for s in samples)
        low, high = (f(s.cpu_s for s in samples) * 1000 for f in (min, max))
        runs = f"median of {len(samples)} runs ({low:.1f}-{high:.1f} ms)" if len(samples) > 1 else "one run"
        notes = [runs, f"{cpu / raw:.2f} times the raw SDK's"] if raw else [runs]
        collector = [s.gc_s for s in samples if s.gc_s is not None]
        if collector:
            notes.append(f"cyclic GC {statistics.median(collector) * 1000:.1f} ms of it")
        notes.append(f"{statistics.median(s.wall_s for s in samples):.2f} s wall")
        rows.append((way, f"{cpu * 1000:.1f} ms", "; ".join(notes)))
    return rows


def markdown(rows: list[tuple[str, str, str]], head: tuple[str, str, str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
