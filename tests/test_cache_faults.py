"""The summary cache under real faults: a corrupt file, an unusable folder, a full disk.

The cache saves money and must never cost an answer: in every case below the summaries are
still produced, their usage still counted, one warning says what happened, and ``cache info`` /
``cache clear`` work without a traceback. The LLM is ``summarizer.testing.FakeOpenAIServer``
on 127.0.0.1; a full disk is a real tmpfs where mounting is permitted (else skipped), and
SQLite's own page limit (``PRAGMA max_page_count``) everywhere.
"""

# ruff: noqa: F811  (the fixtures imported from test_batch are, by design, the parameters' names)
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hang_guard import no_hang
from test_batch import (  # the fixtures too: the same fake server and clean environment
    PROMPT_TOKENS,
    _no_config_from_env,  # noqa: F401
    batch,
    fake_server,  # noqa: F401
    ids,
    invoke,
    read_lines,
    report_number,
    server,  # noqa: F401
    start_script,
    summary_of,
    write_folder,
)
from test_batch_faults import tmpfs  # noqa: F401

from summarizer.cache import CACHE_FILE, SummaryCache
from summarizer.schema import Summary
from summarizer.testing import FakeOpenAIServer

GARBAGE = b"this is not a database, it is what a crash or a bad copy leaves behind\n" * 200


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("summarizer: warning:")]


def assert_all_summarized(run_stderr: str, out: Path, n: int, server: FakeOpenAIServer) -> None:
    lines = read_lines(out)
    assert len(lines) == n
    for line in lines:
        summary_of(line)  # each a whole, valid summary
    assert server.request_count == n
    assert report_number(run_stderr, "summarized") == n
    assert report_number(run_stderr, "in,") == n * PROMPT_TOKENS  # every answer's usage counted


# --------------------------------------------------------------------------- a corrupt file


def test_a_corrupt_cache_file_is_moved_aside_and_a_new_one_serves_the_next_run(
    tmp_path: Path, article: str, server: FakeOpenAIServer, _isolated_cache: Path
) -> None:
    (_isolated_cache / CACHE_FILE).write_bytes(GARBAGE)
    source = write_folder(tmp_path / "articles", article, ids(3))

    with no_hang("a batch over a corrupt cache"):
        run = batch(source, tmp_path / "one.jsonl", server)

    assert run.exit_code == 0, run.stderr
    assert_all_summarized(run.stderr, tmp_path / "one.jsonl", 3, server)
    [warning] = warnings_in(run.stderr)
    assert "was corrupt (file is not a database)" in warning
    [aside] = _isolated_cache.glob(f"{CACHE_FILE}.corrupt-*")
    assert aside.name in warning
    assert aside.read_bytes() == GARBAGE  # kept for whoever wants to look, never deleted

    again = batch(source, tmp_path / "two.jsonl", server)

    assert again.exit_code == 0
    assert "3 summarized (3 from cache)" in again.stderr
    assert warnings_in(again.stderr) == []
    assert server.request_count == 3


def test_a_database_with_damaged_pages_is_a_miss_not_an_internal_error(
    tmp_path: Path, article: str, server: FakeOpenAIServer, _isolated_cache: Path
) -> None:
    source = tmp_path / "article.txt"
    source.write_text(article, encoding="utf-8")
    assert invoke(["summarize", str(source), "--base-url", server.base_url]).exit_code == 0
    path = _isolated_cache / CACHE_FILE
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 2 * page
    data[page : len(data)] = b"\xa5" * (len(data) - page)  # every page but the header's
    path.write_bytes(bytes(data))

    run = invoke(["summarize", str(source), "--base-url", server.base_url])

    assert run.exit_code == 0, run.stderr
    fresh = Summary.model_validate_json(run.stdout)
    assert fresh.meta is not None and fresh.meta.cached is False
    assert fresh.meta.usage.prompt_tokens == PROMPT_TOKENS
    assert server.request_count == 2
    [warning] = warnings_in(run.stderr)
    assert "was corrupt" in warning and "moved it aside" in warning


def test_cache_info_and_clear_work_on_a_corrupt_file(_isolated_cache: Path) -> None:
    (_isolated_cache / CACHE_FILE).write_bytes(GARBAGE)

    info = invoke(["cache", "info"])

    assert info.exit_code == 0, info.stderr
    assert info.stdout.strip() == f"{_isolated_cache / CACHE_FILE}: 0 summaries"
    assert len(warnings_in(info.stderr)) == 1 and "Traceback" not in info.stderr

    for journal in _isolated_cache.glob(f"{CACHE_FILE}-*"):  # else SQLite reads the pages from the WAL
        journal.unlink()
    (_isolated_cache / CACHE_FILE).write_bytes(GARBAGE)  # corrupt again; clear repairs it too
    cleared = invoke(["cache", "clear"])

    assert cleared.exit_code == 0, cleared.stderr
    assert cleared.stdout.strip() == f"removed 0 summaries from {_isolated_cache / CACHE_FILE}"
    assert len(warnings_in(cleared.stderr)) == 1
    assert len(list(_isolated_cache.glob(f"{CACHE_FILE}.corrupt-*"))) == 2
    after = invoke(["cache", "info"])
    assert after.exit_code == 0 and warnings_in(after.stderr) == []


# --------------------------------------------------------------------------- an unusable folder


def test_an_unusable_cache_folder_warns_once_and_every_article_is_still_summarized(
    tmp_path: Path, article: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n", encoding="utf-8")
    monkeypatch.setenv("SUMMARIZER_CACHE_DIR", str(blocker / "summarizer"))
    source = write_folder(tmp_path / "articles", article, ids(4))

    run = batch(source, tmp_path / "out.jsonl", server)

    assert run.exit_code == 0, run.stderr
    assert_all_summarized(run.stderr, tmp_path / "out.jsonl", 4, server)
    [warning] = warnings_in(run.stderr)
    assert warning.startswith(
        f"summarizer: warning: cannot read the cache {blocker / 'summarizer' / CACHE_FILE}"
    )
    assert warning.endswith("carrying on without the cache")

    info = invoke(["cache", "info"])  # nothing to repair here: one line, no traceback
    assert info.exit_code == 74
    assert info.stderr.splitlines() == [
        f"summarizer: error: cannot read the cache {blocker / 'summarizer' / CACHE_FILE}: "
        + info.stderr.split(": ", 3)[-1].strip()
    ]
    assert "Traceback" not in info.stderr


def test_a_read_only_cache_folder_still_summarizes(
    tmp_path: Path, article: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, tmpfs
) -> None:
    monkeypatch.setenv("SUMMARIZER_CACHE_DIR", str(tmpfs("1m", ro=True)))
    source = write_folder(tmp_path / "articles", article, ids(3))

    run = batch(source, tmp_path / "out.jsonl", server)

    assert run.exit_code == 0, run.stderr
    assert_all_summarized(run.stderr, tmp_path / "out.jsonl", 3, server)
    assert len(warnings_in(run.stderr)) == 1


# --------------------------------------------------------------------------- a full disk


def test_a_full_cache_still_outputs_every_summary_and_counts_its_usage(
    tmp_path: Path, article: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own page limit: the same SQLITE_FULL a full disk gives, without needing a mount."""
    real_open = SummaryCache._open

    def small_open(self: SummaryCache) -> sqlite3.Connection:
        connection = real_open(self)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages + 8}")  # room for one summary, not two
        return connection

    monkeypatch.setattr(SummaryCache, "_open", small_open)
    source = write_folder(tmp_path / "articles", article, ids(6))

    run = batch(source, tmp_path / "out.jsonl", server, "-c", "2")

    assert run.exit_code == 0, run.stderr
    assert_all_summarized(run.stderr, tmp_path / "out.jsonl", 6, server)
    [warning] = warnings_in(run.stderr)
    assert "cannot write to the cache" in warning and "database or disk is full" in warning

    cleared = invoke(["cache", "clear"])  # what did fit is still good
    assert cleared.exit_code == 0
    assert cleared.stdout.startswith("removed 1 summaries")


@pytest.mark.slow
def test_a_cache_on_a_real_full_disk_still_outputs_every_summary(
    tmp_path: Path, article: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, tmpfs
) -> None:
    monkeypatch.setenv("SUMMARIZER_CACHE_DIR", str(tmpfs("96k")))
    source = write_folder(tmp_path / "articles", article, ids(8))

    with no_hang("a batch with its cache on a full disk"):
        run = batch(source, tmp_path / "out.jsonl", server, "-c", "2")

    assert run.exit_code == 0, run.stderr
    assert_all_summarized(run.stderr, tmp_path / "out.jsonl", 8, server)
    [warning] = warnings_in(run.stderr)
    assert "cache" in warning


# --------------------------------------------------------------------------- the library


def test_the_library_cache_reports_faults_through_on_warning(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILE).write_bytes(GARBAGE)
    heard: list[str] = []
    cache = SummaryCache(tmp_path, on_warning=heard.append)

    assert cache.get("0" * 64) is None
    assert len(cache) == 0
    assert cache.moved_aside is not None and cache.moved_aside.read_bytes() == GARBAGE
    assert len(heard) == 1
    cache.close()


# --------------------------------------------------------------------------- shared, not broken


@pytest.mark.slow
def test_two_processes_sharing_one_cache_see_no_fault_and_share_the_answers(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer], _isolated_cache: Path
) -> None:
    """A busy database (another process writing) is not a corrupt one: nothing is moved aside."""
    server = fake_server(latency=0.05)
    source = write_folder(tmp_path / "articles", article, ids(16))
    procs = []
    for name in ("one", "two"):
        args = ["batch", str(source), "-o", str(tmp_path / f"{name}.jsonl"), "--base-url", server.base_url]
        procs.append(start_script([*args, "--no-progress", "-c", "4"], tmp_path))
    try:
        outcomes = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    for proc, (_, stderr) in zip(procs, outcomes, strict=True):
        assert proc.returncode == 0, stderr
        assert warnings_in(stderr) == []
    assert list(_isolated_cache.glob("*.corrupt-*")) == []
    assert server.request_count <= 32  # each article at most once per run (fewer when the other cached it)
    again = batch(source, tmp_path / "three.jsonl", server)
    assert "16 summarized (16 from cache)" in again.stderr
