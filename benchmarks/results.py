"""RESULTS.md is written by the benchmark scripts only: each owns one ``## `` section of it.

``write_section("## Title", body)`` replaces that section (or appends it) and leaves every other
section as it is, so that scripts run at different times never overwrite each other's figures.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(title: str, body: str, path: Path = RESULTS) -> None:
    """Replace the section headed ``title`` (a ``## `` line) with ``body``, or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    lines = text.splitlines(keepends=True)
    section = f"{title}\n\n{body.strip()}\n"
    start = next((i for i, line in enumerate(lines) if line.rstrip() == title), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        rest = "".join(lines[end:])
        new = "".join(lines[:start]) + section + ("\n" + rest if rest else "")
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
