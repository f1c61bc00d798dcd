"""A pytest plugin: check fixture cases against their goldens from a newsroom's own test suite.

Installed with the package (entry point ``pytest11``). In a test file::

    def test_seed_article(summarizer_case):
        summary = summarizer_case("fixtures/cases/khamenei-moscow-exiles")
        assert summary.claims

A relative path is found beside the test file, else from pytest's rootdir. The fixture replays
the case's cassette (no network) and fails the test with a
diff by meaning when the content differs from ``golden.json``. Flags:
``--summarizer-record`` calls the provider and re-records the cassette (needs a
key or ``OPENAI_BASE_URL``); ``--summarizer-update-goldens`` rewrites goldens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from summarizer.schema import Summary


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("summarizer")
    group.addoption(
        "--summarizer-record",
        action="store_true",
        help="re-record summarizer cassettes from the live provider instead of replaying them",
    )
    group.addoption(
        "--summarizer-update-goldens",
        action="store_true",
        help="rewrite golden.json of summarizer cases from this run's output",
    )


@pytest.fixture
def summarizer_case(request: pytest.FixtureRequest) -> Callable[[str | Path], Summary]:
    """A function that runs a case folder and asserts it matches its golden; returns the Summary."""
    record = bool(request.config.getoption("summarizer_record"))
    update = bool(request.config.getoption("summarizer_update_goldens"))

    def check(case_dir: str | Path) -> Summary:
        from summarizer.config import Settings
        from summarizer.errors import SummarizerError
        from summarizer.golden.cases import load_case, run_case
        from summarizer.golden.compare import diff, load_golden, write_golden
        from summarizer.llm.recording import RecordMode

        directory = _resolve(Path(case_dir), request)
        try:
            case = load_case(directory)
            if record:
                summary = run_case(case, RecordMode.RECORD, Settings.from_env())
            else:
                summary = run_case(case, RecordMode.REPLAY)
        except SummarizerError as exc:
            pytest.fail(f"summarizer case {directory.name}: {exc}", pytrace=False)
        if update or not case.golden_path.exists():
            if not update:
                pytest.fail(
                    f"summarizer case {case.name} has no golden.json; run with --summarizer-update-goldens",
                    pytrace=False,
                )
            write_golden(case.golden_path, summary)
            return summary
        changes = diff(load_golden(case.golden_path), summary)
        if changes:
            pytest.fail(
                f"summarizer case {case.name} differs from its golden:\n"
                + "\n".join(f"  - {c}" for c in changes),
                pytrace=False,
            )
        return summary

    return check


def _resolve(case_dir: Path, request: pytest.FixtureRequest) -> Path:
    """A relative case path is looked up beside the test file first, then from pytest's rootdir
    (where pyproject.toml or pytest.ini is), so a test means the same wherever pytest is run from."""
    if case_dir.is_absolute():
        return case_dir
    beside_test = Path(str(request.path)).parent / case_dir
    if beside_test.is_dir():
        return beside_test
    return Path(str(request.config.rootpath)) / case_dir
