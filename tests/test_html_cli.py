"""The review pages from the command line: ``summarize --format html``, ``batch --html-dir`` and
``check --score --html``, all replaying the seed case's recording (gpt-4.1-mini)."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import lxml.html
from html_probe import probe
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.golden.cases import load_case, run_case
from summarizer.golden.compare import load_golden, match_claims, score
from summarizer.outputs.html.index import page_name

ROOT = Path(__file__).resolve().parent.parent
CASE = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles"
ARTICLE = CASE / "article.txt"
NO_KEYS = {
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "SUMMARIZER_BASE_URL": None,
    "SUMMARIZER_MODEL": None,
}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=NO_KEYS)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_summarize_writes_a_review_page_for_format_html_and_for_an_html_name(tmp_path: Path) -> None:
    explicit, inferred = tmp_path / "page.htm", tmp_path / "summary.html"
    code, _, err = invoke(
        "summarize", str(ARTICLE), "--replay", str(CASE), "--format", "html", "-o", str(explicit)
    )
    assert code == 0, err
    code, _, err = invoke("summarize", str(ARTICLE), "--replay", str(CASE), "-o", str(inferred))
    assert code == 0, err
    article = ARTICLE.read_text(encoding="utf-8")
    for path in (explicit, inferred):
        seen = probe(path.read_text(encoding="utf-8"))
        assert seen.article == article
        assert len({p.attrs["data-claim"] for p in seen.pieces if "data-claim" in p.attrs}) == 30
    code, out, _ = invoke("summarize", str(ARTICLE), "--replay", str(CASE), "--format", "html")
    assert code == 0 and out.startswith("<!DOCTYPE html>")


def test_summarize_refuses_an_unknown_format_in_one_line(tmp_path: Path) -> None:
    code, _, err = invoke("summarize", str(ARTICLE), "--replay", str(CASE), "--format", "pdf")
    assert code == 2 and err.strip().count("\n") == 0 and "html" in err


def test_batch_writes_a_page_per_article_and_an_index(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    (articles / "world").mkdir(parents=True)
    shutil.copy(ARTICLE, articles / "world" / "khamenei.txt")
    (articles / "broken.txt").write_bytes(b"\x00\x01binary")
    out, pages = tmp_path / "out.jsonl", tmp_path / "pages"
    code, _, err = invoke(
        "batch", str(articles), "-o", str(out), "--replay", str(CASE), "--no-cache", "--html-dir", str(pages)
    )
    assert code == 1, err  # one article failed: the batch says so, and still writes the pages
    assert "review pages: 1 written" in err
    index = lxml.html.document_fromstring((pages / "index.html").read_text(encoding="utf-8"))
    rows = {r.xpath("./td")[0].text_content(): r for r in index.xpath("//tbody/tr")}
    assert set(rows) == {"broken", "world/khamenei"}
    assert "failed:" in rows["broken"].text_content() and not rows["broken"].xpath(".//a")
    link = rows["world/khamenei"].xpath(".//a/@href")
    assert link == [page_name("world/khamenei")]
    cells = [td.text_content() for td in rows["world/khamenei"].xpath("./td")]
    record = next(json.loads(line) for line in out.read_text().splitlines() if '"ok"' in line)
    assert cells[1] == record["summary"]["headline"] and cells[2] == "30"
    page = (pages / link[0]).read_text(encoding="utf-8")
    assert probe(page).article == ARTICLE.read_text(encoding="utf-8")
    # A re-run has nothing left to summarize but still writes every finished article's page.
    shutil.rmtree(pages)
    code, _, err = invoke(
        "batch", str(articles), "-o", str(out), "--replay", str(CASE), "--no-cache", "--html-dir", str(pages)
    )
    assert code == 1 and "0 summarized" in err and "1 already done" in err
    assert (pages / link[0]).is_file()


def test_batch_refuses_a_pages_folder_it_cannot_make_before_summarizing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = tmp_path / "out.jsonl"
    code, _, err = invoke(
        "batch",
        str(ARTICLE.parent),
        "-o",
        str(out),
        "--replay",
        str(CASE),
        "--html-dir",
        str(blocker / "pages"),
    )
    assert code == 2 and err.startswith("summarizer: error: cannot write pages to")
    assert not out.exists()


def copy_case(tmp_path: Path) -> Path:
    target = tmp_path / CASE.name
    shutil.copytree(CASE, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def test_check_score_html_puts_golden_and_new_side_by_side_with_missing_and_extra_marked(
    tmp_path: Path,
) -> None:
    """A golden that disagrees with the recording: one golden claim removed (the new one is extra)
    and one golden claim's evidence moved elsewhere (missing, and its new twin extra)."""
    case = copy_case(tmp_path)
    golden = json.loads((case / "golden.json").read_text(encoding="utf-8"))
    removed = golden["claims"].pop(0)
    moved = golden["claims"][4]
    target = golden["claims"][-1]["evidence"]
    moved["evidence"] = dict(target)
    (case / "golden.json").write_text(json.dumps(golden, indent=2, ensure_ascii=False), encoding="utf-8")
    pages = tmp_path / "review"
    code, out, err = invoke("check", str(case), "--score", "--html", str(pages))
    assert code == 0, out  # 28 of 29 golden claims found, 28 of 30 new ones expected: F1 0.95
    assert "claims F1" in out and "review pages:" in err
    document = lxml.html.document_fromstring((pages / page_name(case.name)).read_text(encoding="utf-8"))
    expected, actual = load_golden(case / "golden.json"), run_case(load_case(case))
    pairs = match_claims(expected, actual)
    scores = score(expected, actual)
    assert len(pairs) == scores.claims.matched
    missing = document.xpath("//table//td[contains(concat(' ', @class, ' '), ' missing ')]")
    extra = document.xpath("//table//td[contains(concat(' ', @class, ' '), ' extra ')]")
    assert len(missing) == scores.claims.expected - scores.claims.matched == 1
    assert len(extra) == scores.claims.actual - scores.claims.matched == 2
    assert moved["statement"] in missing[0].text_content()
    assert any(removed["statement"] in cell.text_content() for cell in extra)
    # The missing golden claim is marked in the article at the golden's offsets.
    seen = probe(lxml.html.tostring(document, encoding="unicode"))
    assert seen.ranges(**{"data-n": "g5"}) == [(target["start"], target["end"])]
    index = lxml.html.document_fromstring((pages / "index.html").read_text(encoding="utf-8"))
    assert index.xpath("//tbody/tr/td/a/@href") == [page_name(case.name)]
