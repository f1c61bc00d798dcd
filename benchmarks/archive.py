"""The archive at scale: export (request files) and import (answers checked) of generated articles.

    python benchmarks/archive.py                 # rewrites "## Archive (Batch API)" in RESULTS.md
    python benchmarks/archive.py --quick         # small sizes, prints only
    python benchmarks/archive.py --export 100000,1000000 --import 2000,20000

Every article is the seed article with a numbered line added, so the hand-written reference
draft grounds in each. Each measurement runs ``summarizer.archive.run_archive`` in a child
process of its own, so that its peak RSS (``ru_maxrss``) is that run's alone:

- export: ``plan_only`` (what ``summarizer archive run --plan-only`` does): every article through
  the request exporter, split by OpenAI's limits (50,000 requests, 200 MB per file), the
  per-article index in the SQLite state. Nothing is sent.
- run: the whole loop (export, submit, poll, download, import with validation and grounding,
  the output appended) against ``LocalEngine``, an in-process stand-in for the files + batches
  endpoints that "completes" each batch at once and streams its output file from the request
  file, answering every request with the reference draft. No HTTP, so what is timed is ours.

Files are written under a temporary folder and removed after each size.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from results import write_section  # benchmarks/results.py: each script owns one section

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = (ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "article.txt").read_text(encoding="utf-8")
DRAFT_PATH = ROOT / "fixtures" / "references" / "khamenei-moscow-exiles.json"
SECTION = "## Archive (Batch API)"
MB = 1_000_000  # files are measured against OpenAI's "200 MB", read as decimal


def write_articles(path: Path, count: int) -> int:
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            handle.write(json.dumps({"id": f"a{n}", "text": f"{ARTICLE}\n\nArchive copy {n}."}) + "\n")
    return path.stat().st_size


class LocalEngine:
    """Duck-types ``archive.endpoint.BatchEndpoint``: uploads are the files themselves; every
    batch is completed on its first retrieve, its output streamed from the request file."""

    def __init__(self) -> None:
        from summarizer.archive.endpoint import Backoff
        from summarizer.testing import tool_call_completion

        self.backoff = Backoff(initial=0, maximum=0)
        draft = json.loads(DRAFT_PATH.read_text(encoding="utf-8"))
        self.answer = json.dumps(tool_call_completion(draft, prompt_tokens=3000, completion_tokens=4000))
        self.files: dict[str, Path] = {}
        self.batches: dict[str, str] = {}

    def upload(self, path: Path, name: str) -> str:
        self.files[f"file-{len(self.files)}"] = path
        return f"file-{len(self.files) - 1}"

    def find_upload(self, name: str, size: int) -> None:
        return None

    def find_batch(self, tag: str, since: float) -> None:
        return None

    def create(self, file_id: str, tag: str, window: str = "24h") -> Any:
        batch_id = f"batch-{len(self.batches)}"
        self.batches[batch_id] = file_id
        return self._view(batch_id, "validating")

    def retrieve(self, batch_id: str) -> Any:
        return self._view(batch_id, "completed")

    def download(self, file_id: str, dest: Path) -> None:
        source = self.files[file_id.removeprefix("out-")]
        decoder = json.JSONDecoder()
        with source.open(encoding="utf-8") as requests, dest.open("w", encoding="utf-8") as out:
            for number, line in enumerate(requests):
                custom_id = decoder.raw_decode(line, len('{"custom_id":'))[0]
                out.write(
                    f'{{"id":"r{number}","custom_id":{json.dumps(custom_id)},"response":{{"status_code":200,'
                    f'"request_id":"q{number}","body":{self.answer}}},"error":null}}\n'
                )

    def _view(self, batch_id: str, status: str) -> Any:
        from summarizer.archive.endpoint import BatchView

        file_id = self.batches[batch_id]
        done = status == "completed"
        return BatchView(batch_id, status, f"out-{file_id}" if done else None, None, 0, 0, 0, "")


def child(kind: str, count: int, folder: Path) -> dict[str, Any]:
    from summarizer.archive.run import ArchiveOptions, run_archive, work_dir
    from summarizer.config import Settings
    from summarizer.llm.pricing import batch_prices
    from summarizer.pipeline import Summarizer

    source = folder / "articles.jsonl"
    input_bytes = write_articles(source, count)
    out = folder / "out.jsonl"
    summarizer = Summarizer(Settings(), prices=batch_prices())
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def on_event(message: str) -> None:
        if message.startswith("round 0:"):
            marks["planned"] = time.perf_counter()

    options = ArchiveOptions(plan_only=kind == "export", max_reasks=0)
    engine = None if kind == "export" else LocalEngine()
    report = run_archive(source, out, summarizer, engine, options, on_event)  # type: ignore[arg-type]
    ended = time.perf_counter()
    parts = sorted((work_dir(out) / "round-0").glob("part-?????.jsonl"))
    from summarizer.archive.state import ArchiveState

    state = ArchiveState.open(work_dir(out) / "state.db")
    rows = state.parts(0)
    state.close()
    return {
        "kind": kind,
        "count": count,
        "input_mb": input_bytes / MB,
        "export_s": marks["planned"] - started,
        "import_s": ended - marks["planned"],
        "files": len(rows),
        "max_file_mb": max(r.bytes for r in rows) / MB,
        "max_file_requests": max(r.requests for r in rows),
        "request_mb": sum(r.bytes for r in rows) / MB,
        "left_on_disk": len(parts),
        "ok": report.ok,
        "out_mb": out.stat().st_size / MB if out.exists() else 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB -> MiB
    }


def measure(kind: str, count: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"archive-bench-{kind}-{count}-"))
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(count), str(folder)],
            capture_output=True, text=True, check=False, timeout=6 * 3600,
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"child {kind} {count} failed:\n{result.stderr[-3000:]}")
        figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        print(json.dumps(figures), flush=True)
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| run | articles | export s | export /s | import s | import /s | files | largest file | "
        "requests in it | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        imported = r["kind"] == "run"
        lines.append(
            f"| {r['kind']} | {r['count']:,} | {r['export_s']:.1f} | {r['count'] / r['export_s']:,.0f} | "
            + (f"{r['import_s']:.1f} | {r['ok'] / r['import_s']:,.0f} | " if imported else "- | - | ")
            + f"{r['files']} | {r['max_file_mb']:.1f} MB | {r['max_file_requests']:,} | {r['peak_rss_mb']:.0f} MiB |"
        )
    return head + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--export", default="100000,1000000")
    parser.add_argument("--import", dest="imports", default="2000,20000")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "COUNT", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        kind, count, folder = args.child
        print(json.dumps(child(kind, int(count), Path(folder))))
        return
    exports = [1000, 10000] if args.quick else [int(n) for n in args.export.split(",")]
    imports = [200, 1000] if args.quick else [int(n) for n in args.imports.split(",")]
    rows = [measure("export", n) for n in exports] + [measure("run", n) for n in imports]
    body = (
        f"`python benchmarks/archive.py --export {','.join(map(str, exports))} --import "
        f"{','.join(map(str, imports))}` on {platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')} (a shared 2-core machine; each row a child process of its own).\n\n"
        + table(rows)
        + "\n\nexport: `archive run --plan-only` (request lines built, split by OpenAI's limits of 50,000 "
        "requests and 200 MB (200,000,000 bytes) per file, ids indexed in the SQLite state). run: export, then submit, poll, "
        "download and import against an in-process engine that completes each batch at once (no HTTP), "
        "every answer validated and grounded as a live one, the output appended. Peak RSS is the child's "
        "ru_maxrss. Largest file: the byte limit binds first (about 11 kB a request).\n"
    )
    print(body)
    if not args.quick:
        write_section(SECTION, body)


if __name__ == "__main__":
    main()
