"""The pytest plugin, as a newsroom would use it: installed, auto-loaded, one fixture per case.

The subprocess runs load the plugin only through the package's ``pytest11`` entry
point (no ``-p summarizer``); every case folder they touch is a copy in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from summarizer.schema import Summary

ROOT = Path(__file__).resolve().parent.parent
CASE_NAME = "khamenei-moscow-exiles"
CASE_DIR = ROOT / "fixtures" / "cases" / CASE_NAME
GOLDEN_BYTES = (CASE_DIR / "golden.json").read_bytes()

PROJECT_TEST = """\
def test_case(summarizer_case):
    s = summarizer_case("cases/khamenei-moscow-exiles")
    assert s.claims
"""


def copy_case(target: Path) -> Path:
    shutil.copytree(CASE_DIR, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def flip_hedged(golden_path: Path, claim_id: str) -> tuple[str, bool]:
    data = json.loads(golden_path.read_text(encoding="utf-8"))
    claim = next(c for c in data["claims"] if c["id"] == claim_id)
    claim["hedged"] = not claim["hedged"]
    golden_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return claim["statement"], claim["hedged"]


def short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    [entry] = [e for e in entry_points(group="pytest11") if e.name == "summarizer"]
    assert entry.value == "summarizer.golden.pytest_plugin"


def test_plugin_is_active_in_this_session(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("summarizer")
    assert pytestconfig.getoption("summarizer_record") is False
    assert pytestconfig.getoption("summarizer_update_goldens") is False


# -- in-process, through the fixture this very session provides -----------------------------------------


def test_fixture_replays_the_repository_case(summarizer_case: Any) -> None:
    summary = summarizer_case(CASE_DIR)  # read-only: replay and compare, nothing written
    assert isinstance(summary, Summary)
    assert len(summary.claims) == 30
    assert summary.meta is not None and summary.meta.attempts == 2
    assert (CASE_DIR / "golden.json").read_bytes() == GOLDEN_BYTES


def test_fixture_fails_with_the_meaning_diff(summarizer_case: Any, tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path / CASE_NAME)
    statement, now = flip_hedged(case_dir / "golden.json", "c7")
    with pytest.raises(pytest.fail.Exception) as failed:
        summarizer_case(case_dir)
    message = str(failed.value)
    assert message.startswith(f"summarizer case {CASE_NAME} differs from its golden:")
    assert f"  - claim {short(statement, 50)!r}: hedged {now} -> {not now}" in message


def test_fixture_fails_on_a_missing_golden_without_writing_one(summarizer_case: Any, tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path / CASE_NAME)
    (case_dir / "golden.json").unlink()
    with pytest.raises(
        pytest.fail.Exception, match=re.escape("has no golden.json; run with --summarizer-update-goldens")
    ):
        summarizer_case(case_dir)
    assert not (case_dir / "golden.json").exists()


def test_fixture_reports_a_replay_failure_in_one_line(summarizer_case: Any, tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path / CASE_NAME)
    article = case_dir / "article.txt"
    article.write_text(article.read_text(encoding="utf-8").replace("Moscow", "Minsk", 1), encoding="utf-8")
    with pytest.raises(pytest.fail.Exception) as failed:
        summarizer_case(case_dir)
    message = str(failed.value)
    assert message.startswith(f"summarizer case {CASE_NAME}: no recording for request ")
    assert "the article or user prompt changed" in message
    assert "\n" not in message


def test_fixture_rejects_a_folder_that_is_not_a_case(summarizer_case: Any, tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="is not a case folder"):
        summarizer_case(tmp_path / "nowhere")


# -- a throw-away project, run the way its owners would run it --------------------------------------------


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_", "PYTEST_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_plugin_in_a_fresh_project_passes_fails_and_updates(tmp_path: Path) -> None:
    project = tmp_path / "newsroom"
    project.mkdir()
    # An ini file pins the rootdir to the project, whatever lies above tmp_path.
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (project / "test_cases.py").write_text(PROJECT_TEST, encoding="utf-8")
    case_dir = copy_case(project / "cases" / CASE_NAME)
    golden = case_dir / "golden.json"

    first = run_pytest(project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 passed" in first.stdout

    statement, now = flip_hedged(golden, "c12")
    altered = golden.read_bytes()
    failing = run_pytest(project)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "1 failed" in failing.stdout
    assert f"summarizer case {CASE_NAME} differs from its golden:" in failing.stdout
    assert f"  - claim {short(statement, 50)!r}: hedged {now} -> {not now}" in failing.stdout
    assert "Traceback" not in failing.stdout  # pytrace=False: the diff, not a stack
    assert golden.read_bytes() == altered

    updating = run_pytest(project, "--summarizer-update-goldens")
    assert updating.returncode == 0, updating.stdout + updating.stderr
    assert golden.read_bytes() == GOLDEN_BYTES

    after = run_pytest(project)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "1 passed" in after.stdout
    assert (project / ".pytest_cache").exists() is False
