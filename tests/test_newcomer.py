"""A new user's path through the CLI (issue 12): record your own case and check it, warnings that
reach a `| jq` user, batch input refused up front, calm help and one-line usage errors, and outputs
that say what they are (narrow table, replayed cost, Markdown for editors, `-o` format).

The model is ``summarizer.testing.FakeOpenAIServer`` on 127.0.0.1 answering with the seed article's
hand-written reference draft (fixtures/references/khamenei-moscow-exiles.json, "what an excellent
model would return"), or with that draft's misquoted variant from conftest (claim 12 spells
"Yanukovych" where the article has "Yanukovich": the known model behaviour of normalising a name's
spelling inside a quote). Commands run through typer's CliRunner, and through the installed console
script where what the terminal shows matters (usage errors).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, ROOT
from rich.console import Console
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.outputs.render import FORMATS, NARROW_COLUMNS, SUFFIX_FORMATS, format_for, to_table
from summarizer.schema import Summary
from summarizer.testing import FakeOpenAIServer, tool_call_completion

CASE_DIR = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles"
ARTICLE = CASE_DIR / "article.txt"
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
)
ERROR = "summarizer: error: "
WARNING = "summarizer: warning: "


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def invoke(*args: str, env: dict[str, str] | None = None) -> Run:
    environment: dict[str, str | None] = dict.fromkeys(CONFIG_VARS)
    environment.update(env or {})
    result = CliRunner().invoke(app, list(args), env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def one_error_line(run: Run, code: int, needle: str) -> str:
    assert run.exit_code == code, (run.exit_code, run.stdout, run.stderr)
    assert run.stderr.startswith(ERROR), run.stderr
    assert run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr and "╭" not in run.stderr
    assert needle in run.stderr, run.stderr
    return run.stderr


@pytest.fixture
def good_model(reference_draft: dict[str, Any]) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(reference_draft) as server:
        yield server


@pytest.fixture
def misquoting_model(misquoted_draft: dict[str, Any]) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(misquoted_draft) as server:
        yield server


def live(server: FakeOpenAIServer, *args: str) -> Run:
    return invoke(*args, "--base-url", server.base_url, env={"OPENAI_API_KEY": API_KEY})


# -- record -> check --update -> check, no hand edits -------------------------------------------------


def test_record_then_update_then_check_needs_no_hand_edits(
    tmp_path: Path, reference_draft: dict[str, Any], misquoted_draft: dict[str, Any]
) -> None:
    # A misquote first, then a good answer: the case holds a re-ask, two exchanges.
    def answer(body: dict[str, Any]) -> dict[str, Any]:
        return misquoted_draft if len(body["messages"]) <= 2 else reference_draft

    case = tmp_path / "my-article"
    with FakeOpenAIServer(answer=answer) as server:
        recorded = live(
            server, "summarize", str(ARTICLE), "--record", str(case), "-o", str(tmp_path / "s.json")
        )
        assert recorded.exit_code == 0, recorded.stderr
        assert server.request_count == 2
        base_url = server.base_url
    # The server is gone: everything from here on is the case folder alone.
    assert sorted(p.name for p in case.iterdir()) == ["article.txt", "case.json", "cassette.json"]
    assert (case / "article.txt").read_bytes() == ARTICLE.read_bytes()
    pinned = json.loads((case / "case.json").read_text(encoding="utf-8"))
    assert pinned["base_url"] == base_url  # OpenAI-compatible: the request says max_tokens
    assert pinned["provider_name"] == "openai"
    assert pinned["model"] == "gpt-4.1-mini"
    assert pinned["mode"] == "tools"
    for name in ("article.txt", "case.json", "cassette.json"):
        assert API_KEY not in (case / name).read_text(encoding="utf-8")

    first = invoke("check", str(case))
    assert first.exit_code == 1
    assert "NEW" in first.stdout  # no golden yet: not an error in the replay

    updated = invoke("check", str(case), "--update")
    assert updated.exit_code == 0, updated.stdout + updated.stderr
    assert "UPDATED" in updated.stdout and "FAIL" not in updated.stdout
    assert updated.stdout.endswith("0 passed, 1 updated, 0 failed\n")

    checked = invoke("check", str(case))
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[0].startswith("my-article  PASS  ")
    golden = Summary.model_validate_json((case / "golden.json").read_text(encoding="utf-8"))
    recorded_summary = Summary.model_validate_json((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert golden.content() == recorded_summary.content()


def test_check_update_of_an_altered_golden_says_updated_not_fail(tmp_path: Path) -> None:
    case = tmp_path / CASE_DIR.name
    shutil.copytree(CASE_DIR, case)
    golden = json.loads((case / "golden.json").read_text(encoding="utf-8"))
    golden["headline"] = "Something else"
    (case / "golden.json").write_text(json.dumps(golden), encoding="utf-8")
    run = invoke("check", str(case), "--update")
    assert run.exit_code == 0
    [status, *changes, total] = run.stdout.splitlines()
    assert status.startswith(f"{case.name}  UPDATED  1 change(s) from the golden"), status
    assert "FAIL" not in run.stdout
    assert any("headline" in c for c in changes)
    assert total == "0 passed, 1 updated, 0 failed"
    assert invoke("check", str(case)).exit_code == 0


@pytest.mark.parametrize("command", ["check", "score"])
@pytest.mark.parametrize("value", ["2", "-0.1", "nan-ish"])
def test_min_f1_takes_zero_to_one_only(command: str, value: str) -> None:
    args = [str(CASE_DIR), "--score"] if command == "check" else [str(CASE_DIR / "golden.json")] * 2
    one_error_line(invoke(command, *args, "--min-f1", value), 2, "--min-f1")


# -- warnings on stderr, whatever the format ---------------------------------------------------------


@pytest.mark.parametrize("output_format", ["json", "markdown", "table"])
def test_a_dropped_claim_is_a_warning_line_on_stderr(
    misquoting_model: FakeOpenAIServer, output_format: str
) -> None:
    run = live(misquoting_model, "summarize", str(ARTICLE), "--max-reasks", "0", "--format", output_format)
    assert run.exit_code == 0, run.stderr
    warnings = run.stderr.splitlines()
    assert warnings and all(w.startswith(WARNING) for w in warnings), run.stderr
    assert any("dropped claim" in w and "Yanukovych" in w for w in warnings), run.stderr
    if output_format == "json":
        summary = Summary.model_validate_json(run.stdout)  # stdout is still pure JSON for jq
        assert summary.meta is not None
        assert [f"{WARNING}{w}" for w in summary.meta.warnings] == warnings


def test_quiet_silences_warnings_not_errors(misquoting_model: FakeOpenAIServer, tmp_path: Path) -> None:
    quiet = live(misquoting_model, "summarize", str(ARTICLE), "--max-reasks", "0", "--quiet")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert Summary.model_validate_json(quiet.stdout).meta.warnings  # type: ignore[union-attr]
    failed = live(misquoting_model, "summarize", str(tmp_path / "missing.txt"), "--quiet")
    one_error_line(failed, 2, "missing.txt")


# -- batch: refused up front -------------------------------------------------------------------------


def test_batch_output_folder_must_exist(good_model: FakeOpenAIServer, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / "a.txt")
    out = tmp_path / "nonexistent" / "x.jsonl"
    run = live(good_model, "batch", str(folder), "-o", str(out))
    line = one_error_line(run, 2, f"directory {out.parent} does not exist")
    assert not out.parent.exists()
    assert good_model.request_count == 0
    # The same message as summarize -o gives.
    single = live(good_model, "summarize", str(ARTICLE), "-o", str(out))
    assert single.stderr.replace(str(out), "OUT") == line.replace(str(out), "OUT")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (json.dumps([{"id": "a", "text": "An article."}], indent=2), "pretty-printed JSON"),
        (json.dumps({"id": "a", "text": "An article."}, indent=2), "pretty-printed JSON"),
        ("Moscow, Jan. 5 — An article given as the batch file.\n", "line 1 is not a JSON object"),
    ],
    ids=["json-array", "json-object", "plain-text"],
)
def test_batch_refuses_input_that_is_not_jsonl(
    good_model: FakeOpenAIServer, tmp_path: Path, content: str, needle: str
) -> None:
    source = tmp_path / "wire.json"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    one_error_line(live(good_model, "batch", str(source), "-o", str(out)), 2, needle)
    assert not out.exists()
    assert good_model.request_count == 0


@pytest.mark.parametrize("kind", ["empty-folder", "folder-without-articles", "empty-file", "blank-lines"])
def test_batch_of_nothing_is_an_error(good_model: FakeOpenAIServer, tmp_path: Path, kind: str) -> None:
    if "folder" in kind:
        source = tmp_path / "in"
        source.mkdir()
        if kind == "folder-without-articles":
            (source / "notes.pdf").write_bytes(b"%PDF-1.4")
    else:
        source = tmp_path / "in.jsonl"
        source.write_text("" if kind == "empty-file" else "\n  \n\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    one_error_line(live(good_model, "batch", str(source), "-o", str(out)), 2, "no articles")
    assert not out.exists()


def test_batch_names_the_first_bad_lines_and_repeated_ids(
    good_model: FakeOpenAIServer, tmp_path: Path
) -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    rows = [
        json.dumps({"id": "one", "text": text}),
        json.dumps({"id": "two", "body": text}),  # no "text"
        "{not json",
        json.dumps({"id": "one", "text": text}),  # repeated
        json.dumps({"id": "three", "text": 7}),
    ]
    source = tmp_path / "wire.jsonl"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run = live(good_model, "batch", str(source), "-o", str(out), "--no-progress")
    assert run.exit_code == 1  # the bad lines failed
    warnings = [line for line in run.stderr.splitlines() if line.startswith(WARNING)]
    assert len(warnings) == 2, run.stderr
    bad, repeated = warnings
    assert bad.startswith(f"{WARNING}3 of 5 input line(s) cannot be summarized")
    assert f'{source}:2: each line needs "id" and "text"' in bad
    assert f"{source}:3: not a JSON object" in bad
    assert f'{source}:5: "text" must be a string' in bad
    assert "1 id(s) appear more than once" in repeated and "(one)" in repeated
    # Each bad line still gets its error record, with the same reason.
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["status"] for r in records) == ["error", "error", "error", "ok", "ok"]
    quiet = live(good_model, "batch", str(source), "-o", str(tmp_path / "again.jsonl"), "--no-progress", "-q")
    assert WARNING not in quiet.stderr


def test_batch_folder_with_two_files_for_one_id_is_reported(
    good_model: FakeOpenAIServer, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / "story.txt")
    shutil.copy(ARTICLE, folder / "story.md")
    run = live(good_model, "batch", str(folder), "-o", str(tmp_path / "out.jsonl"), "--no-progress")
    assert run.exit_code == 0, run.stderr
    assert f"{WARNING}1 id(s) appear more than once in {folder} (story)" in run.stderr


# -- batch-import --model ----------------------------------------------------------------------------


def test_batch_import_warns_when_model_disagrees_with_the_answers(
    tmp_path: Path, reference_draft: dict[str, Any]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "one", "text": ARTICLE.read_text(encoding="utf-8")}) + "\n", "utf-8")
    answers = tmp_path / "batch_output.jsonl"
    body = tool_call_completion(reference_draft, model="gpt-4o-2024-08-06")
    line = {"id": "r1", "custom_id": "one", "response": {"status_code": 200, "body": body}, "error": None}
    answers.write_text(json.dumps(line) + "\n", encoding="utf-8")

    mismatched = invoke("batch-import", str(source), str(answers), "-o", str(tmp_path / "a.jsonl"))
    assert mismatched.exit_code == 0, mismatched.stderr
    [warning] = [w for w in mismatched.stderr.splitlines() if w.startswith(WARNING)]
    assert "written by gpt-4o-2024-08-06, not gpt-4.1-mini" in warning
    assert "--model gpt-4o-2024-08-06" in warning

    agreeing = invoke(
        "batch-import", str(source), str(answers), "-o", str(tmp_path / "b.jsonl"), "--model", "gpt-4o"
    )
    assert agreeing.exit_code == 0
    assert WARNING not in agreeing.stderr  # the dated snapshot of the alias asked for


# -- outputs -----------------------------------------------------------------------------------------


def replayed(*args: str, env: dict[str, str] | None = None) -> Run:
    return invoke("summarize", str(ARTICLE), "--replay", str(CASE_DIR), *args, env=env)


def test_table_at_60_columns_is_stacked_and_fits(tmp_path: Path) -> None:
    summary = Summary.model_validate_json(replayed().stdout)
    console = Console(width=60, file=io.StringIO(), record=True, color_system=None)
    console.print(to_table(summary, width=console.width))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 60
    assert "│" not in text  # no side-by-side columns squeezed to a few letters each
    flat = " ".join(text.split())
    for claim in summary.claims:
        assert " ".join(claim.statement.split()) in flat, claim.id
        assert " ".join(claim.evidence.text.split()) in flat, claim.id
    for source in summary.sources:
        assert source.name in flat
    # From 80 columns on, the wide tables.
    wide = Console(width=NARROW_COLUMNS, file=io.StringIO(), record=True, color_system=None)
    wide.print(to_table(summary, width=wide.width))
    assert "│" in wide.export_text()


def test_cli_table_follows_the_terminal_width() -> None:
    run = replayed("--format", "table", env={"COLUMNS": "60"})
    assert run.exit_code == 0, run.stderr
    assert max(len(line) for line in run.stdout.splitlines()) <= 60
    assert "Claims (" in run.stdout


def test_replayed_cost_is_labelled_as_recorded() -> None:
    run = replayed("--format", "table", env={"COLUMNS": "200"})
    assert run.exit_code == 0
    cost = Summary.model_validate_json(replayed().stdout).meta.cost_usd  # type: ignore[union-attr]
    assert cost is not None and cost > 0
    assert f"replayed, nothing spent (recorded cost ${cost:.4f})" in run.stdout
    assert f"· ${cost:.4f} ·" not in run.stdout


def test_markdown_has_quotes_not_offsets(tmp_path: Path) -> None:
    run = replayed("--format", "markdown")
    assert run.exit_code == 0
    summary = Summary.model_validate_json(replayed().stdout)
    assert not re.search(r"\[\d+:\d+\]", run.stdout)
    for claim in summary.claims:
        assert f"  > {claim.evidence.text}" in run.stdout


@pytest.mark.parametrize(
    ("name", "flags", "expected"),
    [
        ("s.md", [], "markdown"),
        ("s.markdown", [], "markdown"),
        ("s.json", [], "json"),
        ("s.txt", [], "table"),
        ("s.out", [], "json"),
        ("s.md", ["--format", "json"], "json"),
        ("s.json", ["-f", "markdown"], "markdown"),
    ],
)
def test_output_suffix_decides_the_format_unless_format_says(
    tmp_path: Path, name: str, flags: list[str], expected: str
) -> None:
    out = tmp_path / name
    run = replayed("-o", str(out), *flags)
    assert run.exit_code == 0, run.stderr
    assert format_for(out, flags[1] if flags else None) == expected
    written = out.read_text(encoding="utf-8")
    if expected == "json":
        Summary.model_validate_json(written)
    elif expected == "markdown":
        assert written.startswith("# ") and "## Claims" in written
    else:
        assert "Claims" in written and "│" in written


def test_suffix_table_is_the_one_place_formats_are_inferred() -> None:
    assert set(SUFFIX_FORMATS.values()) <= set(FORMATS)
    assert format_for(None, None) == "json"
    assert format_for(Path("Review.HTML"), None) == "html"  # suffixes match in any case
    assert format_for(Path("notes.MD"), None) == "markdown"


# -- help and usage errors ---------------------------------------------------------------------------


def test_help_is_grouped_without_type_noise() -> None:
    run = invoke("summarize", "--help", env={"COLUMNS": "120"})
    assert run.exit_code == 0
    panels = [line for line in run.stdout.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert panels == ["Arguments:", "Input/Output:", "Model:", "Recording:", "Budgets:", "Options:"]
    assert "<bool>" not in run.stdout and "<int" not in run.stdout
    assert "[default:" not in run.stdout
    assert "  -f, --format FORMAT " in run.stdout and "  --strict " in run.stdout
    batch = invoke("batch", "--help", env={"COLUMNS": "120"}).stdout
    assert "\nBatch:\n" in batch and "<bool>" not in batch
    for command in ("check", "score", "batch-export", "batch-import", "cache", "slack"):
        text = invoke(command, "--help", env={"COLUMNS": "120"}).stdout
        assert "<bool>" not in text and "[default:" not in text, command


def console_script() -> str:
    beside = Path(sys.executable).with_name("summarizer")
    found = str(beside) if beside.exists() else shutil.which("summarizer")
    assert found
    return found


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["summarize", str(ARTICLE), "--formt", "json"], "No such option: --formt"),
        (["summarize", str(ARTICLE), "--max-reasks", "many"], "Invalid value for '--max-reasks'"),
        (["summarise", str(ARTICLE)], "No such command 'summarise'"),
        (["batch", str(ARTICLE)], "Missing option '--output'"),
        (["check", "--min-f1", "2", "--score"], "--min-f1"),
    ],
)
def test_usage_errors_are_one_line_from_the_console_script(args: list[str], needle: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env["COLUMNS"] = "100"
    done = subprocess.run(
        [console_script(), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    one_error_line(Run(done.returncode, done.stdout, done.stderr), 2, needle)
    assert done.stdout == ""
    assert "--help" in done.stderr


# -- README's "Regression-test your own articles", as written ----------------------------------------


def readme_block(first_line: str) -> str:
    """The README code block whose first line is ``first_line`` (the README is the test's input)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Regression-test your own articles", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```(?:python|sh)\n(.*?)```", section, re.S)
    [block] = [b for b in blocks if b.startswith(first_line)]
    return block


def newsroom_project(tmp_path: Path) -> Path:
    project = tmp_path / "newsroom"
    (project / "tests").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (project / "tests" / "test_our_articles.py").write_text(
        readme_block("# tests/test_our_articles.py"), encoding="utf-8"
    )
    shutil.copytree(CASE_DIR, project / "tests" / "cases" / "story")
    return project


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_readme_test_file_passes_from_anywhere_and_fails_on_a_change(tmp_path: Path) -> None:
    project = newsroom_project(tmp_path)
    at_root = run_pytest(project)
    assert at_root.returncode == 0, at_root.stdout + at_root.stderr
    assert "1 passed" in at_root.stdout
    # From another directory: the case path is found beside the test file.
    elsewhere = run_pytest(tmp_path, str(project / "tests"))
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr
    golden_path = project / "tests" / "cases" / "story" / "golden.json"
    golden = json.loads(golden_path.read_text(encoding="utf-8"))
    golden["headline"] = "A different headline"
    golden_path.write_text(json.dumps(golden), encoding="utf-8")
    failing = run_pytest(project)
    assert failing.returncode == 1
    assert "summarizer case story differs from its golden" in failing.stdout


def test_readme_python_replay_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = newsroom_project(tmp_path)
    monkeypatch.chdir(project)
    namespace: dict[str, Any] = {}
    exec(readme_block("from pathlib import Path\n\nfrom summarizer import Summarizer"), namespace)
    summary = namespace["summary"]
    assert isinstance(summary, Summary)
    assert summary.content() == Summary.model_validate_json(replayed().stdout).content()
