"""``summarizer batch`` under real faults: a disk that fills or fails, two runs on one output, Ctrl-C.

The LLM is ``summarizer.testing.FakeOpenAIServer`` on 127.0.0.1 (see test_batch.py). A failing
disk is made two ways: in-process, by giving ``summarizer.batch.items`` an ``os`` whose writes
stop after a number of bytes the way a filling disk does (a short write, then the error), and
for real, with a small tmpfs mounted for the test (skipped where mounting is not permitted).
Every run is under a guard against hangs (``hang_guard.no_hang`` in-process, ``timeout=`` for
subprocesses): a hang is exactly the bug these tests are about.
"""

# ruff: noqa: F811  (the fixtures imported from test_batch are, by design, the parameters' names)
from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    script,
    server,  # noqa: F401
    start_script,
    wait_for_lines,
    write_folder,
)

import summarizer.batch.items as items
from summarizer.batch.runner import ARTICLES_PER_SLOT
from summarizer.testing import FakeOpenAIServer

BUSY = "is being written by another summarizer run; wait for it to end, or pass --wait to start when it does"


class FillingDisk:
    """``os`` for ``summarizer.batch.items`` whose writes stop after ``room`` bytes, as a disk does
    when it fills: the write that crosses the limit is cut short, every later one fails with
    ``code``. Everything else is the real ``os``."""

    def __init__(self, room: int, code: int) -> None:
        self.room = room
        self.code = code
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: bytes) -> int:
        if self.room <= 0:
            self.refused += 1
            raise OSError(self.code, os.strerror(self.code))
        written = os.write(fd, data[: self.room])
        self.room -= written
        return written


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("summarizer: error:")]


def line_size(tmp_path: Path, article: str, server: FakeOpenAIServer) -> int:
    """How many bytes one result line takes (a probe article of its own, then the counts reset)."""
    probe = batch(write_folder(tmp_path / "probe", article, ["probe"]), tmp_path / "probe.jsonl", server)
    assert probe.exit_code == 0, probe.stderr
    server.reset_counts()
    return (tmp_path / "probe.jsonl").stat().st_size


# --------------------------------------------------------------------------- a write that fails mid-run


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EIO, "input/output error"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_a_write_failure_mid_run_ends_it_in_one_line_and_a_resume_completes(
    tmp_path: Path,
    article: str,
    fake_server: Callable[..., FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    words: str,
) -> None:
    server = fake_server(latency=0.05)
    room = int(line_size(tmp_path, article, server) * 3.5)  # three whole lines, then half of one
    all_ids = ids(30)
    source = write_folder(tmp_path / "articles", article, all_ids)
    out = tmp_path / "out.jsonl"
    monkeypatch.setattr(items, "os", FillingDisk(room, code))

    with no_hang("a batch whose output fails"):
        run = batch(source, out, server, "-c", "4")

    assert run.exit_code == 74, run.stderr
    assert error_lines(run.stderr) == [f"summarizer: error: cannot write {out}: {words}"]
    assert run.stderr.rstrip().endswith(words)  # the error is the last word
    assert "Traceback" not in run.stderr
    lines = read_lines(out)  # every line whole JSON: the short write was cut back, not left torn
    assert len(lines) == 3
    assert all(line["status"] == "ok" for line in lines)
    unwritten = report_number(run.stderr, "answer(s) paid for could not be written")
    assert report_number(run.stderr, "summarized") == 3
    # Scheduling stopped: only the articles already started were asked for after the failure (at
    # -c 4, four requests out and four answers being checked at most); those waiting for a slot
    # sent nothing.
    assert server.request_count == 3 + unwritten <= 3 + ARTICLES_PER_SLOT * 4
    # Every answer paid for is counted in the totals, written or not.
    assert report_number(run.stderr, "in,") == server.request_count * PROMPT_TOKENS

    monkeypatch.setattr(items, "os", os)  # space freed
    server.reset_counts()
    with no_hang("the resume"):
        rerun = batch(source, out, server, "-c", "4")

    assert rerun.exit_code == 0, rerun.stderr
    assert "3 already done" in rerun.stderr
    final = read_lines(out)
    assert sorted(line["id"] for line in final) == all_ids  # each id exactly once
    assert all(line["status"] == "ok" for line in final)
    # What was paid for but could not be written came back from the cache, not the provider.
    assert f"({unwritten} from cache)" in rerun.stderr
    assert server.request_count == 30 - 3 - unwritten


def test_every_worker_failing_to_write_ends_the_run_instead_of_hanging(
    tmp_path: Path,
    article: str,
    fake_server: Callable[..., FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reported hang: every worker meets a failed write while the producer waits on a full queue."""
    server = fake_server(latency=0.05)
    source = write_folder(tmp_path / "articles", article, ids(40))
    out = tmp_path / "out.jsonl"
    disk = FillingDisk(0, errno.ENOSPC)
    monkeypatch.setattr(items, "os", disk)

    with no_hang("a batch whose every write fails"):
        run = batch(source, out, server, "-c", "2")

    assert run.exit_code == 74, run.stderr
    assert error_lines(run.stderr) == [f"summarizer: error: cannot write {out}: no space left on device"]
    assert out.read_bytes() == b""
    # The articles started: two requests out, and two more sent while the first answers were
    # checked (their answers reach the cache); nothing queued and nothing waiting was started.
    assert 1 <= server.request_count <= ARTICLES_PER_SLOT * 2
    assert disk.refused == server.request_count


def test_an_output_that_is_a_directory_is_one_line_before_anything_is_spent(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = write_folder(tmp_path / "articles", article, ids(2))
    out = tmp_path / "out.jsonl"
    out.mkdir()

    run = batch(source, out, server)

    assert run.exit_code == 74
    assert run.stderr.splitlines() == [f"summarizer: error: cannot write {out}: is a directory"]
    assert server.request_count == 0


# --------------------------------------------------------------------------- a real full disk (tmpfs)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Factory: ``tmpfs("64k")`` mounts a tmpfs of that size (``ro=True``: read-only) for the test."""
    mounted: list[Path] = []

    def mount(size: str, *, ro: bool = False) -> Path:
        point = tmp_path / f"tmpfs-{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if ro else "")
        try:
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                check=True,
                capture_output=True,
                timeout=30,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {exc}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def grow(point: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(point)], check=True, timeout=30)


@pytest.mark.slow
def test_a_real_full_disk_ends_the_run_and_a_resume_after_freeing_space_completes(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer], tmpfs: Callable[..., Path]
) -> None:
    server = fake_server(latency=0.05)
    disk = tmpfs("64k")  # room for two result lines of the seed article (about 25 KB each)
    all_ids = ids(12)
    source = write_folder(tmp_path / "articles", article, all_ids)
    out = disk / "out.jsonl"
    args = ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress", "-c", "4"]

    proc = start_script(args, tmp_path)
    try:
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 74, stderr
    assert error_lines(stderr) == [f"summarizer: error: cannot write {out}: no space left on device"]
    assert "Traceback" not in stderr
    lines = read_lines(out)
    assert 1 <= len(lines) < 12
    assert all(line["status"] == "ok" for line in lines)
    assert server.request_count < 12  # scheduling stopped

    grow(disk, "4m")
    rerun = batch(source, out, server, "-c", "4")

    assert rerun.exit_code == 0, rerun.stderr
    final = read_lines(out)
    assert sorted(line["id"] for line in final) == all_ids
    assert server.request_count == 12  # the unwritten answers came from the cache: none paid twice


def test_summarize_into_a_read_only_file_system_names_the_file_and_the_error(
    tmp_path: Path, article: str, server: FakeOpenAIServer, tmpfs: Callable[..., Path]
) -> None:
    target = tmpfs("1m", ro=True) / "summary.json"
    source = tmp_path / "article.txt"
    source.write_text(article, encoding="utf-8")

    run = invoke(["summarize", str(source), "--base-url", server.base_url, "-o", str(target)])

    assert run.exit_code == 74
    assert run.stderr.splitlines() == [f"summarizer: error: cannot write {target}: read-only file system"]


# --------------------------------------------------------------------------- one writer per output


@pytest.mark.slow
def test_a_second_run_on_the_same_output_is_refused_and_nothing_is_done_twice(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = fake_server(latency=0.3)
    all_ids = ids(12)
    source = write_folder(tmp_path / "articles", article, all_ids)
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress", "-c", "2"]

    first = start_script(args, tmp_path)
    try:
        wait_for_lines(out, 1, first, timeout=60)
        assert first.poll() is None, "the first run ended before the second could meet it"
        with no_hang("the second run"):
            second = batch(source, out, server, "-c", "2")
        _, first_stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()

    assert second.exit_code == 75
    assert second.stderr.splitlines() == [f"summarizer: error: {out} {BUSY}"]
    assert first.returncode == 0, first_stderr
    lines = read_lines(out)
    assert sorted(line["id"] for line in lines) == all_ids  # no duplicate ok lines
    assert server.request_count == 12  # each article paid for once


def _stderr_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], timeout)
    assert ready, f"no line on stderr within {timeout} s"
    return proc.stderr.readline()


@pytest.mark.slow
def test_wait_starts_when_the_other_writer_ends_and_ctrl_c_gives_up_waiting(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    all_ids = ids(3)
    source = write_folder(tmp_path / "articles", article, all_ids)
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress", "--wait"]
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        started.append(start_script(args, tmp_path))
        return started[-1]

    holder = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)  # the other writer: this test
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        waiting = start()
        assert "waiting for the other run" in _stderr_line(waiting)
        waiting.send_signal(signal.SIGINT)
        _, stderr = waiting.communicate(timeout=30)
        assert waiting.returncode == 130, stderr
        assert "summarizer: interrupted" in stderr and "Traceback" not in stderr
        assert server.request_count == 0

        patient = start()
        assert "waiting for the other run" in _stderr_line(patient)
        time.sleep(0.5)  # it really waits: nothing is asked for while the lock is held
        assert server.request_count == 0 and patient.poll() is None
        fcntl.flock(holder, fcntl.LOCK_UN)
        _, stderr = patient.communicate(timeout=120)
    finally:
        os.close(holder)
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    assert patient.returncode == 0, stderr
    assert sorted(line["id"] for line in read_lines(out)) == all_ids
    assert server.request_count == 3


# --------------------------------------------------------------------------- Ctrl-C while articles hang


@pytest.mark.slow
def test_second_ctrl_c_aborts_articles_in_flight_on_a_stalled_provider(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = fake_server(latency=60)  # a provider that never answers within the test
    source = write_folder(tmp_path / "articles", article, ids(10))
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress", "-c", "2"]

    proc = start_script(args, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while server.in_flight < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert server.in_flight == 2
        proc.send_signal(signal.SIGINT)
        time.sleep(1)  # the first press only stops scheduling: the two stalled articles stay in flight
        assert proc.poll() is None and server.in_flight == 2
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 130, stderr
    assert "stopping after the articles in flight" in stderr
    assert "stopped: aborted" in stderr
    assert "Traceback" not in stderr
    assert out.read_bytes() == b""


# --------------------------------------------------------------------------- other files a batch touches


def test_a_cassette_that_cannot_be_written_stops_the_batch_too(
    tmp_path: Path, article: str, server: FakeOpenAIServer, tmpfs: Callable[..., Path]
) -> None:
    disk = tmpfs("1m")
    (disk / "rec").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, timeout=30)
    source = write_folder(tmp_path / "articles", article, ids(20))
    out = tmp_path / "out.jsonl"

    with no_hang("a batch recording onto a read-only disk"):
        run = batch(source, out, server, "-c", "2", "--record", str(disk / "rec"))

    assert run.exit_code == 74, run.stderr
    cassette = disk / "rec" / "cassette.json"
    assert error_lines(run.stderr) == [f"summarizer: error: cannot write {cassette}: read-only file system"]
    assert server.request_count <= 2  # not one paid call per remaining article
    lines = read_lines(out)
    assert len(lines) == server.request_count
    for line in lines:
        assert line["error_type"] == "OutputError"
        assert line["usage"]["prompt_tokens"] == PROMPT_TOKENS  # paid for, so counted
    assert report_number(run.stderr, "in,") == server.request_count * PROMPT_TOKENS


def test_an_unreadable_article_fails_alone(
    tmp_path: Path, article: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_folder(tmp_path / "articles", article, ids(3))
    broken = source / "a001.txt"
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == broken:  # a bad sector: the kernel's EIO, as a failing disk gives it
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server)

    assert run.exit_code == 1, run.stderr
    records = {line["id"]: line for line in read_lines(out)}
    assert records["a000"]["status"] == records["a002"]["status"] == "ok"
    assert records["a001"]["error"] == f"cannot read {broken}: input/output error"
    assert records["a001"]["error_type"] == "InputError"


def test_a_line_of_bad_utf8_in_the_output_does_not_stop_the_resume(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(
        b'{"id": "a", "status": "ok"}\n\xff\xfe garbage from a bad copy\n{"id": "b", "status": "ok"}\n'
    )

    assert items.finished_ids(out) == {"a", "b"}


def test_summarize_to_standard_output_on_a_full_disk_is_an_error_not_exit_0(
    tmp_path: Path, tmpfs: Callable[..., Path]
) -> None:
    """``summarize ... > file`` with the file on a full disk: the shell's file, our error to report."""
    case = Path(__file__).resolve().parent.parent / "fixtures" / "cases" / "khamenei-moscow-exiles"
    target = tmpfs("8k") / "summary.json"  # the summary is about 35 KB
    with target.open("wb") as sink:
        done = subprocess.run(
            [script(), "summarize", str(case / "article.txt"), "--replay", str(case)],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env={k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))},
        )

    assert done.returncode == 74, done.stderr
    assert done.stderr.splitlines() == [
        "summarizer: error: cannot write standard output: no space left on device"
    ]
