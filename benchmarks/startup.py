"""Start-up: `summarizer --help` and one replayed article, against `python -c "import typer"`.

    python benchmarks/startup.py              # prints the table, rewrites "## Start-up" in RESULTS.md
    python benchmarks/startup.py --runs 5 --no-write

Each command is a fresh process (what a user waits for), run ``--runs`` times (default 10),
interleaved round by round so that the shared machine's load falls on all of them alike; the
figure is the median wall time, reported as a ratio to the ``import typer`` baseline measured in
the same run (absolute seconds are printed too, but only the ratios compare across runs):

    baseline   python -c "import typer"                 the floor for any Typer CLI
    help       summarizer --help
    replay     summarizer summarize ARTICLE --replay CASE   (the seed article's cassette, JSON out)
    sdk        python -c "import typer, openai, instructor; instructor.from_openai(openai.OpenAI(...))"
               the floor for a replay: it runs the real SDK through instructor, from a Typer CLI

The console script is the one beside this Python (the venv's). The summary cache is pointed at an
empty temporary folder (a replay does not use it anyway). ``-X importtime`` breakdowns for both
commands: ``python -X importtime -c "from summarizer.cli import main; main()" --help``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import write_section  # benchmarks/results.py: each script owns one section

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles"
SECTION = "## Start-up"
SDK_FLOOR = "import typer, openai, instructor; instructor.from_openai(openai.OpenAI(api_key='x'))"
# A guard against a hung process, not a performance limit.
RUN_TIMEOUT = 300


def commands() -> dict[str, list[str]]:
    script = str(Path(sys.executable).with_name("summarizer"))
    return {
        "baseline": [sys.executable, "-c", "import typer"],
        "help": [script, "--help"],
        "replay": [script, "summarize", str(CASE / "article.txt"), "--replay", str(CASE)],
        # Touching .chat imports openai.resources, which loads every API resource (admin, beta, ...):
        # any request pays it, so it belongs to the floor.
        "sdk": [
            sys.executable,
            "-c",
            "import openai, instructor; openai.OpenAI(api_key='x').chat.completions",
        ],
    }


def time_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=RUN_TIMEOUT, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    with tempfile.TemporaryDirectory(prefix="startup-cache-") as cache:
        env["SUMMARIZER_CACHE_DIR"] = cache
        runs = commands()
        for argv in runs.values():  # warm the file cache and the .pyc files first
            time_once(argv, env)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.runs):
            for name, argv in runs.items():
                times[name].append(time_once(argv, env))

    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["baseline"]
    out = io.StringIO()
    out.write(
        f"Median of {args.runs} fresh processes each, interleaved; {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s), shared machine; {dt.date.today().isoformat()}. "
        "Written by `python benchmarks/startup.py`.\n\n"
    )
    out.write("| command | median s | × `import typer` | × SDK floor |\n|---|---|---|---|\n")
    labels = {
        "baseline": '`python -c "import typer"`',
        "help": "`summarizer --help`",
        "replay": "`summarizer summarize ARTICLE --replay CASE` (seed article)",
        "sdk": "SDK floor: `import typer, openai, instructor; instructor.from_openai(openai.OpenAI(...))`",
    }
    for name in runs:
        out.write(
            f"| {labels[name]} | {median[name]:.3f} | {median[name] / base:.2f} | "
            f"{median[name] / median['sdk']:.2f} |\n"
        )
    out.write(
        "\n`--help` imports typer and our CLI modules only (plain help: no rich, no openai). A "
        "replay runs the real openai SDK through instructor, so importing them and wrapping a client "
        "(which makes openai import every API resource it has, and instructor its OpenAI provider) is "
        "its floor; the last column is what a replay costs beyond it: our modules (schema, pipeline, "
        "httpx, whose import pulls in click, rich and pygments for its own CLI), validation, grounding "
        "and the re-ask. `python -X importtime` finds nothing else a replay imports without using.\n"
    )
    print(out.getvalue())
    if not args.no_write:
        write_section(SECTION, out.getvalue())


if __name__ == "__main__":
    main()
