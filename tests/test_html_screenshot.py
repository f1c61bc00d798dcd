"""Review pages in a real browser: headless Chromium (Debian's package).

The seed case's page is screenshotted and checked for ink and the highlight colours (the PNG is
read with the small stdlib decoder in ``tests/png.py``), and a page full of payloads is loaded to
show that our script runs under the page's Content-Security-Policy while nothing injected does
(escaping is checked with parsers in ``test_html_page.py``; the CSP is the second wall: with
escaping broken on purpose this test still passes, with both broken it fails). Skipped, with the
reason, where Chromium is not installed; ``.ci/run`` installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from png import Image, read_png

from summarizer.golden.cases import load_case, run_case
from summarizer.outputs.html import render
from summarizer.outputs.html.assets import COLOURS
from summarizer.schema import Claim, Entity, Evidence, Meta, Span, Summary

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles"
SCREENSHOT = ROOT / "docs" / "review-page.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = (1280, 2000)


FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_screenshot(page: Path, png: Path, profile: Path) -> None:
    """The command README gives; no network, no first-run work, a throwaway profile."""
    command = [
        str(CHROMIUM),
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def assert_looks_like_a_review_page(image: Image) -> None:
    counts = image.colour_counts(step=2)
    total = sum(counts.values())
    ink = total - counts.get((255, 255, 255), 0)
    assert ink > total // 10, f"only {ink} of {total} sampled pixels are not white: a blank page?"
    for kind, (background, _) in COLOURS.items():
        assert counts.get(rgb(background), 0) > 1000, f"no {kind} highlight ({background}) on the page"


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)"
)
def test_seed_page_screenshot_shows_the_highlights(tmp_path: Path) -> None:
    case = load_case(CASE)
    page = tmp_path / "review.html"
    page.write_text(render(run_case(case), case.article_path.read_text(encoding="utf-8")), encoding="utf-8")
    png = tmp_path / "review.png"
    chromium_screenshot(page, png, tmp_path / "profile")
    image = read_png(png.read_bytes())
    assert (image.width, image.height) == WINDOW
    assert_looks_like_a_review_page(image)


def test_committed_screenshot_is_a_review_page() -> None:
    """docs/review-page.png (shown in README) is a real screenshot with the highlight colours."""
    image = read_png(SCREENSHOT.read_bytes())
    assert image.width == WINDOW[0]
    assert_looks_like_a_review_page(image)


PWN = "document.documentElement.setAttribute('data-pwned', '{}')"


def pwning_summary() -> tuple[Summary, str]:
    """An article and model output carrying payloads that mark the document if they ever run."""
    article = (
        f"Officials said <script>{PWN.format('article')}</script> was found.\n"
        f'A reader wrote <img src=x onerror="{PWN.format("img")}"> here.\n'
    )
    start = article.index("<script>")
    quote = article[start : article.index("</script>") + len("</script>")]
    img = article.index("<img")
    summary = Summary(
        headline=f"<script>{PWN.format('headline')}</script>",
        abstract=f'<svg onload="{PWN.format("svg")}"></svg>',
        entities=[
            Entity(
                id="e",
                name=f'<b onmouseover="{PWN.format("entity")}">',
                type="other",
                mentions=[Span(text="<img", start=img, end=img + 4)],
            )
        ],
        claims=[
            Claim(
                id="c1",
                statement=f"</mark><script>{PWN.format('claim')}</script>",
                attribution="article_assertion",
                evidence=Evidence(text=quote, start=start, end=start + len(quote)),
            )
        ],
        meta=Meta(
            provider="openai",
            model="m",
            prompt_version="p",
            warnings=[f"dropped claim '<script>{PWN.format('warning')}</script>': it cites unknown source x"],
        ),
    )
    return summary, article


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does)"
)
def test_in_a_browser_our_script_runs_and_injected_markup_does_not(tmp_path: Path) -> None:
    summary, article = pwning_summary()
    page = tmp_path / "hostile.html"
    page.write_text(render(summary, article), encoding="utf-8")
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-pwned="' not in done.stdout, "injected markup ran"
    assert 'data-tip="Claim 1:' in done.stdout, "our own script did not run (is its CSP hash right?)"
