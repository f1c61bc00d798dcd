"""``summarizer check`` and ``summarizer score``: offline regression checks and scored comparison.

Case folders are copied to ``tmp_path`` before anything could write to them.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from summarizer.cli import app

ROOT = Path(__file__).resolve().parent.parent
CASE_NAME = "khamenei-moscow-exiles"
CASE_DIR = ROOT / "fixtures" / "cases" / CASE_NAME
GOLDEN_BYTES = (CASE_DIR / "golden.json").read_bytes()
NO_KEYS: dict[str, str | None] = {
    "OPENAI_API_KEY": None,
    "OPENAI_BASE_URL": None,
    "SUMMARIZER_BASE_URL": None,
    "SUMMARIZER_MODEL": None,
    "SUMMARIZER_MODE": None,
}


def copy_case(tmp_path: Path, name: str = CASE_NAME) -> Path:
    target = tmp_path / name
    shutil.copytree(CASE_DIR, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=NO_KEYS)


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claim_of(golden: dict[str, Any], claim_id: str) -> dict[str, Any]:
    return next(c for c in golden["claims"] if c["id"] == claim_id)


# -- the seed case passes offline, the same way every time ---------------------------------------------


def test_check_seed_case_passes_offline_and_deterministically() -> None:
    exe = Path(sys.executable).parent / "summarizer"
    assert exe.is_file()
    env = offline_env()
    assert not any(k in env for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL"))
    runs = [
        subprocess.run(
            [str(exe), "check", "fixtures/cases/khamenei-moscow-exiles"],
            cwd=ROOT,
            capture_output=True,
            env=env,
            timeout=60,
        )
        for _ in range(2)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr.decode()
        assert run.stderr == b""
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.decode().splitlines() == [
        "khamenei-moscow-exiles  PASS   29 entities, 11 sources, 30 claims, 2 attempt(s)",
        "1 passed, 0 failed",
    ]


def test_check_finds_the_cases_under_fixtures_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = invoke("check")
    assert result.exit_code == 0, result.output
    assert "khamenei-moscow-exiles  PASS" in result.stdout


def test_check_without_cases_here_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("check")
    assert result.exit_code == 3
    assert result.stderr == "summarizer: error: no case folders given and no fixtures/cases here\n"


def test_check_json_output() -> None:
    result = invoke("check", str(CASE_DIR), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "case": CASE_NAME,
            "passed": True,
            "updated": False,
            "error": None,
            "golden_missing": False,
            "changes": [],
        }
    ]


def test_check_score_mode_replays_and_scores_perfectly() -> None:
    result = invoke("check", str(CASE_DIR), "--score", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["passed"] is True
    for part in ("entities", "sources", "claims"):
        assert row[part]["f1"] == 1.0
    assert row["attempts"] == 2
    text = invoke("check", str(CASE_DIR), "--score")
    assert text.exit_code == 0
    assert "PASS  entities F1 1.00  sources F1 1.00  claims F1 1.00" in text.stdout


def test_check_rejects_a_folder_without_an_article(tmp_path: Path) -> None:
    result = invoke("check", str(tmp_path))
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "has no article.txt" in result.stderr
    assert "Traceback" not in result.output


def test_check_rejects_unknown_case_settings(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    write_json(case_dir / "case.json", {"model": "gpt-4.1-mini", "colour": "blue"})
    result = invoke("check", str(case_dir))
    assert result.exit_code == 3
    assert "unknown settings ['colour']" in result.stderr


def test_check_case_settings_that_differ_from_the_recording_fail_replay(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    write_json(case_dir / "case.json", {"model": "gpt-4o-mini"})
    result = invoke("check", str(case_dir))
    assert result.exit_code == 1
    assert "ERROR  no recording for request" in result.stdout
    assert "model changed: recorded 'gpt-4.1-mini', now 'gpt-4o-mini'" in result.stdout


def test_check_of_a_changed_article_reports_the_missing_recording(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    article = case_dir / "article.txt"
    article.write_text(article.read_text(encoding="utf-8").replace("Moscow", "Minsk", 1), encoding="utf-8")
    result = invoke("check", str(case_dir))
    assert result.exit_code == 1
    assert "ERROR  no recording for request" in result.stdout
    assert "the article or user prompt changed" in result.stdout
    assert (case_dir / "cassette.json").read_bytes() == (CASE_DIR / "cassette.json").read_bytes()


# -- a changed golden fails with a diff by meaning ------------------------------------------------------


def alter_golden(golden: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Five edits a person might make to golden.json, and the diff line each must produce."""
    # 1. Rename an entity (a new name and id, references updated so the file stays valid).
    for entity in golden["entities"]:
        if entity["id"] == "moscow":
            entity.update(id="moscow-city", name="Moscow City")
    for c in golden["claims"]:
        c["entity_ids"] = ["moscow-city" if i == "moscow" else i for i in c["entity_ids"]]
    renamed_in = [c for c in golden["claims"] if "moscow-city" in c["entity_ids"]]
    # 2. Change a claim's statement.
    c7 = claim_of(golden, "c7")
    original_c7 = c7["statement"]
    c7["statement"] = "Assad lost power in late 2024."
    # 3. Remove a source (one no claim cites) and 4. add one the run does not produce.
    golden["sources"] = [s for s in golden["sources"] if s["id"] != "the-washington-post"]
    golden["sources"].append(
        {"id": "kremlin-press-office", "name": "Kremlin press office", "kind": "official", "anonymous": False}
    )
    # 5. Flip a claim's hedged flag.
    c12 = claim_of(golden, "c12")
    assert c12["hedged"] is False
    c12["hedged"] = True
    expected = [
        "entity renamed: 'Moscow City' -> 'Moscow'",
        "source removed: 'Kremlin press office'",
        "source added: 'The Washington Post' (publication)",
        f"claim 'Assad lost power in late 2024.': text -> {short(original_c7)!r}",
        f"claim {short(c12['statement'], 50)!r}: hedged True -> False",
    ]
    assert renamed_in  # the rename touches claims, yet is reported once, as a rename
    return golden, expected


def test_changed_golden_fails_with_a_diff_by_meaning(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    altered, expected = alter_golden(read_json(case_dir / "golden.json"))
    write_json(case_dir / "golden.json", altered)
    before = (case_dir / "golden.json").read_bytes()

    result = invoke("check", str(case_dir))

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    changes = [line.removeprefix("    - ") for line in lines if line.startswith("    - ")]
    assert lines[0] == f"{CASE_NAME}  FAIL   {len(changes)} change(s) from the golden"
    assert lines[-1] == "0 passed, 1 failed"
    for wanted in expected:
        assert any(change.startswith(wanted) for change in changes), (wanted, changes)
    assert len(changes) == len(expected)
    assert (case_dir / "golden.json").read_bytes() == before  # check alone never writes

    as_json = invoke("check", str(case_dir), "--json")
    assert as_json.exit_code == 1
    [row] = json.loads(as_json.stdout)
    assert row["passed"] is False and row["changes"] == changes


def test_golden_entity_renamed_in_place_fails_check(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    golden = read_json(case_dir / "golden.json")
    next(e for e in golden["entities"] if e["id"] == "moscow")["name"] = "Moskau"
    write_json(case_dir / "golden.json", golden)
    result = invoke("check", str(case_dir))
    assert result.exit_code == 1
    assert "Moskau" in result.stdout


def test_unreadable_golden_is_an_error_not_a_pass(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    golden = read_json(case_dir / "golden.json")
    golden["sources"] = [s for s in golden["sources"] if s["id"] != "the-guardian"]  # c8 still cites it
    write_json(case_dir / "golden.json", golden)
    result = invoke("check", str(case_dir))
    assert result.exit_code == 1
    assert "ERROR  cannot read" in result.stdout
    assert "cites unknown source the-guardian" in result.stdout


def test_missing_golden_fails_check_without_update(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    (case_dir / "golden.json").unlink()
    result = invoke("check", str(case_dir))
    assert result.exit_code == 1
    assert "NEW    no golden.json yet (run with --update to write it)" in result.stdout
    assert not (case_dir / "golden.json").exists()


# -- --update --------------------------------------------------------------------------------------------


def test_update_writes_a_missing_golden_that_then_passes(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    (case_dir / "golden.json").unlink()

    updated = invoke("check", str(case_dir), "--update")

    assert updated.exit_code == 0, updated.output
    assert "UPDATED  no golden.json yet: written from this replay" in updated.stdout
    assert "FAIL" not in updated.stdout and updated.stdout.endswith("0 passed, 1 updated, 0 failed\n")
    assert updated.stderr == f"updated {case_dir / 'golden.json'}\n"
    assert (case_dir / "golden.json").read_bytes() == GOLDEN_BYTES
    after = invoke("check", str(case_dir))
    assert after.exit_code == 0, after.output
    assert "PASS" in after.stdout


def test_update_shows_the_changes_then_rewrites_an_altered_golden(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    altered, expected = alter_golden(read_json(case_dir / "golden.json"))
    write_json(case_dir / "golden.json", altered)

    updated = invoke("check", str(case_dir), "--update")

    assert updated.exit_code == 0, updated.output
    output = updated.output  # stdout and stderr as the terminal shows them, in order
    written_at = output.index(f"updated {case_dir / 'golden.json'}")
    for wanted in expected:
        at = output.index(f"    - {wanted}")
        assert at < written_at, "changes must be shown before the golden is rewritten"
    assert (case_dir / "golden.json").read_bytes() == GOLDEN_BYTES
    after = invoke("check", str(case_dir))
    assert after.exit_code == 0, after.output


def test_update_leaves_a_passing_golden_alone(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    golden = case_dir / "golden.json"
    before = golden.stat().st_mtime_ns
    result = invoke("check", str(case_dir), "--update")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert golden.stat().st_mtime_ns == before


def test_update_does_not_write_when_replay_fails(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    (case_dir / "golden.json").unlink()
    article = case_dir / "article.txt"
    article.write_text(article.read_text(encoding="utf-8") + "\nP.S.\n", encoding="utf-8")
    result = invoke("check", str(case_dir), "--update")
    assert result.exit_code == 1
    assert "ERROR  no recording for request" in result.stdout
    assert not (case_dir / "golden.json").exists()


def test_update_repairs_an_unreadable_golden(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    (case_dir / "golden.json").write_text("{ this is not json", encoding="utf-8")
    result = invoke("check", str(case_dir), "--update")
    assert result.exit_code == 0, result.output
    assert (case_dir / "golden.json").read_bytes() == GOLDEN_BYTES


# -- summarizer score ----------------------------------------------------------------------------------


@pytest.fixture
def scored_files(tmp_path: Path) -> tuple[Path, Path]:
    """The golden, and a degraded output with 3 of its 30 claims dropped (still a valid summary)."""
    golden = tmp_path / "golden.json"
    golden.write_bytes(GOLDEN_BYTES)
    degraded = read_json(golden)
    degraded["claims"] = [c for c in degraded["claims"] if c["id"] not in {"c1", "c9", "c18"}]
    degraded["meta"] = {"provider": "openai", "model": "gpt-4.1-mini", "prompt_version": "x", "attempts": 2}
    path = tmp_path / "degraded.json"
    write_json(path, degraded)
    return golden, path


# Claims: 27 matched of 30 expected, 27 found.
CLAIMS_P, CLAIMS_R = 1.0, 27 / 30
CLAIMS_F1 = 2 * CLAIMS_P * CLAIMS_R / (CLAIMS_P + CLAIMS_R)  # 0.947368...


def test_score_json_fails_below_the_threshold(scored_files: tuple[Path, Path]) -> None:
    golden, degraded = scored_files
    result = invoke("score", str(golden), str(degraded), "--json", "--min-f1", "0.95")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["passed"] is False
    assert data["claims"] == {
        "precision": 1.0,
        "recall": round(CLAIMS_R, 4),
        "f1": round(CLAIMS_F1, 4),
        "matched": 27,
        "expected": 30,
        "actual": 27,
    }
    assert data["entities"]["f1"] == data["sources"]["f1"] == 1.0
    assert data["attempts"] == 2
    assert data["grounding_rate"] == 1.0


def test_score_json_passes_at_or_below_the_f1(scored_files: tuple[Path, Path]) -> None:
    golden, degraded = scored_files
    result = invoke("score", str(golden), str(degraded), "--json", "--min-f1", "0.94")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["passed"] is True
    exact = invoke("score", str(golden), str(golden), "--json", "--min-f1", "1.0")
    assert exact.exit_code == 0 and json.loads(exact.stdout)["passed"] is True


def test_score_default_threshold_and_text_output(scored_files: tuple[Path, Path]) -> None:
    golden, degraded = scored_files
    result = invoke("score", str(golden), str(degraded))
    assert result.exit_code == 0, result.output  # 0.947 >= the default 0.8
    lines = result.stdout.splitlines()
    assert lines[2] == "claims    precision 1.00  recall 0.90  F1 0.95  (27 matched, 30 expected, 27 found)"
    assert lines[-1] == "PASS"
    failing = invoke("score", str(golden), str(degraded), "--min-f1", "0.99")
    assert failing.exit_code == 1
    assert failing.stdout.splitlines()[-1] == "FAIL (an F1 below 0.99)"


def test_score_rejects_a_file_that_is_not_a_summary(tmp_path: Path, scored_files: tuple[Path, Path]) -> None:
    golden, _ = scored_files
    bad = tmp_path / "bad.json"
    bad.write_text('{"headline": "only this"}', encoding="utf-8")
    result = invoke("score", str(golden), str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"summarizer: error: {bad} is not a summary")
    assert result.stderr.count("\n") == 1
    missing = invoke("score", str(golden), str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "cannot read it" in missing.stderr
