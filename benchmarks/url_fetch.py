"""URL input costs, measured side by side in one run (ratios; the machine is shared and noisy).

    python benchmarks/url_fetch.py              # prints the table, rewrites "## URL fetch" in RESULTS.md
    python benchmarks/url_fetch.py --no-write   # prints only

1. Date search on fixtures/pages/slow-date.html (a page listing fragments like "Lot 17, Oak Lane
   16, May auction", no date in its markup): ``trafilatura.bare_extraction`` with its defaults
   (htmldate's extensive search) against our ``extraction.extract`` (fast date search, two passes).
2. Client cost: CPU time of building a new ``httpx.Client`` per fetch (what the code did before:
   an SSL context each time) against taking the shared one (``http_client.sync_client``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import write_section  # noqa: E402


def _cpu(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    import httpx
    import trafilatura
    from trafilatura import load_html

    from summarizer.inputs import http_client
    from summarizer.inputs.extraction import extract

    html = (ROOT / "fixtures" / "pages" / "slow-date.html").read_text(encoding="utf-8")
    defaults = _cpu(lambda: trafilatura.bare_extraction(html, with_metadata=True), 1)
    ours = _cpu(lambda: extract(load_html(html), "http://127.0.0.1/slow-date"), 3)

    def new_client() -> None:
        httpx.Client().close()

    def shared_client() -> None:
        with http_client.sync_client(None):
            pass

    shared_client()  # the one-time build
    per_new = _cpu(new_client, 10)
    per_shared = _cpu(shared_client, 200)

    body = f"""`python benchmarks/url_fetch.py` — CPU seconds per operation, one run.

| what | before | after | ratio |
|---|---|---|---|
| extract slow-date.html (date search) | {defaults:.3f} s (trafilatura defaults) | {ours:.3f} s (fast date search) | {defaults / max(ours, 1e-9):.0f}x |
| client per fetch | {per_new:.4f} s (new httpx.Client) | {per_shared:.6f} s (shared client) | {per_new / max(per_shared, 1e-9):.0f}x |
"""
    print(body)
    if not args.no_write:
        write_section("## URL fetch", body)


if __name__ == "__main__":
    main()
