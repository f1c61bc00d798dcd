"""Benchmark: what our pipeline costs on top of the bundled local model (SmolLM2-135M-Instruct).

One article (the seed), four ways, interleaved within each repetition so that a
busy machine slows them all alike:

  (a) in-process provider through ``Summarizer`` (provider "local", max_reasks 0)
  (b) llama-cpp-python's OpenAI-compatible server through ``Summarizer(base_url=...)``
  (c) a bare ``llama_cpp.Llama.create_chat_completion`` with the request (a) sends
  (d) a bare HTTP POST of that same request body to the server

The request body is captured from (a)'s first call, and (b)'s is checked to be the
same body, so all four ask for exactly the same completion. Every timed run starts
with a cold prompt: llama.cpp reuses a cached prompt prefix, so without a reset a
repeated article would measure generation only. The in-process model is reset
(``Llama.reset()``); the server's cache is flushed with a short unrelated request
(untimed) before each of its runs.

(a) and (b) run with a pass-through transport around the one Summarizer would build
itself (``network_transport``, or httpx's), which keeps the request body and the time
spent inside: that splits their time into the model call and everything of ours around it.

Usage:  python benchmarks/local_model.py [--reps 3] [--no-write]

Prints a markdown section and writes it into benchmarks/RESULTS.md, replacing
only its own section ("## Local model (SmolLM2-135M, 2 cores)").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from results import write_section  # benchmarks/results.py: each script owns one section

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "article.txt"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Local model (SmolLM2-135M, 2 cores)"
# What llama.cpp takes from an OpenAI request body (as LlamaTransport passes it on).
LLAMA_FIELDS = ("messages", "tools", "tool_choice", "temperature", "top_p", "seed", "stop", "max_tokens")
FLUSH_BODY = {
    "messages": [{"role": "user", "content": "Reply with one word."}],
    "max_tokens": 1,
    "temperature": 0,
}


@dataclass
class Timing:
    key: str
    label: str
    seconds: list[float] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    # For (a) and (b): seconds spent outside the model call (pipeline, SDK, instructor, checks).
    outside: list[float] = field(default_factory=list)

    def add(self, seconds: float, prompt: int, completion: int, inner: float | None) -> None:
        self.seconds.append(seconds)
        self.prompt_tokens.append(prompt)
        self.completion_tokens.append(completion)
        if inner is not None:
            self.outside.append(seconds - inner)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def tokens_per_s(self) -> float:
        return statistics.median(c / s for c, s in zip(self.completion_tokens, self.seconds, strict=True))


class Probe(httpx.BaseTransport):
    """Delegate to ``inner``; keep every request body and the time spent inside ``inner``.

    The body is what lets (c) and (d) send (a)'s request verbatim; the time inside splits
    (a) and (b) into the model call and everything of ours around it.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, Any]] = []
        self.inside = 0.0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.read()))
        started = time.perf_counter()
        response = self.inner.handle_request(request)
        response.read()
        self.inside += time.perf_counter() - started
        return response


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(model: Path) -> Iterator[str]:
    """llama-cpp-python's server, started as the tests start it; yields its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "8192",
                "--seed",
                "0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(f"llama_cpp.server did not start:\n{log.read().decode()[-3000:]}")
                try:
                    if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)


def timed(call: Callable[[], tuple[int, int]], probe: Probe | None) -> tuple[float, int, int, float | None]:
    inside_before = probe.inside if probe is not None else 0.0
    started = time.perf_counter()
    prompt, completion = call()
    seconds = time.perf_counter() - started
    return seconds, prompt, completion, (probe.inside - inside_before) if probe is not None else None


def run(reps: int) -> tuple[str, dict[str, Timing]]:
    from summarizer.config import Settings
    from summarizer.llm.client import network_transport
    from summarizer.llm.local import bundled_model_path
    from summarizer.pipeline import Summarizer

    article = ARTICLE.read_text(encoding="utf-8")
    model_path = bundled_model_path()
    model_name = model_path.stem

    local_settings = Settings(provider_name="local", max_reasks=0)
    # The transport the provider builds for itself (Summarizer would call the same function);
    # built here only so that the benchmark can reset its model's prompt cache between runs.
    local_transport = network_transport(local_settings)
    llama = local_transport._llama  # the model loaded by the transport: shared by (a) and (c)

    # Warm-up (untimed): load the model, capture the exact request body (a) sends.
    local_probe = Probe(local_transport)
    local = Summarizer(local_settings, transport=local_probe)
    local.summarize(article)
    body = local_probe.bodies[0]
    llama_kwargs = {k: body[k] for k in LLAMA_FIELDS if k in body}

    with llama_server(model_path) as base_url:
        http = httpx.Client(timeout=600)
        served_settings = Settings(base_url=base_url, model=model_name, max_reasks=0)
        # The network transport Summarizer would build for itself, with the probe around it.
        served_probe = Probe(httpx.HTTPTransport())
        served = Summarizer(served_settings, transport=served_probe)
        # Warm-up (untimed): the first connection, the server's first request.
        served.summarize(article)
        served_body = served_probe.bodies[0]
        if served_body != body:
            different = sorted(k for k in set(body) | set(served_body) if body.get(k) != served_body.get(k))
            raise SystemExit(f"(a) and (b) send different requests: {different}")

        def flush_server() -> None:
            http.post(f"{base_url}/chat/completions", json=FLUSH_BODY).raise_for_status()

        def via_summarizer(summarizer: Summarizer) -> tuple[int, int]:
            summary = summarizer.summarize(article)
            assert summary.meta is not None
            return summary.meta.usage.prompt_tokens, summary.meta.usage.completion_tokens

        def bare_llama() -> tuple[int, int]:
            completion = llama.create_chat_completion(**llama_kwargs)
            return completion["usage"]["prompt_tokens"], completion["usage"]["completion_tokens"]

        def bare_post() -> tuple[int, int]:
            response = http.post(f"{base_url}/chat/completions", json=body)
            response.raise_for_status()
            usage = response.json()["usage"]
            return usage["prompt_tokens"], usage["completion_tokens"]

        paths = {
            "a": Timing("a", "in-process provider via `Summarizer` (provider local)"),
            "b": Timing("b", "llama-cpp-python server via `Summarizer(base_url=...)`"),
            "c": Timing("c", "bare `Llama.create_chat_completion`, same request"),
            "d": Timing("d", "bare HTTP POST of the same body to the server"),
        }
        steps: dict[str, tuple[Callable[[], None], Callable[[], tuple[int, int]], Probe | None]] = {
            "a": (llama.reset, lambda: via_summarizer(local), local_probe),
            "b": (flush_server, lambda: via_summarizer(served), served_probe),
            "c": (llama.reset, bare_llama, None),
            "d": (flush_server, bare_post, None),
        }
        load_before = os.getloadavg()
        for rep in range(reps):
            for key in ("a", "b", "c", "d"):
                prepare, call, probe = steps[key]
                prepare()
                seconds, prompt, completion, inside = timed(call, probe)
                paths[key].add(seconds, prompt, completion, inside)
                print(
                    f"rep {rep + 1}/{reps} ({key}) {seconds:6.2f} s, {prompt} prompt + {completion} "
                    "completion tokens",
                    file=sys.stderr,
                )
        load_after = os.getloadavg()
        http.close()

    return render(paths, reps, model_name, body, load_before, load_after), paths


def render(
    paths: dict[str, Timing],
    reps: int,
    model: str,
    body: dict[str, Any],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> str:
    import llama_cpp

    a, b, c, d = (paths[k] for k in "abcd")
    ratio = {"a": a.median_s / c.median_s, "b": b.median_s / d.median_s}
    # The same ratio within each repetition (runs side by side share the machine's mood).
    paired = {
        "a": sorted(x / y for x, y in zip(a.seconds, c.seconds, strict=True)),
        "b": sorted(x / y for x, y in zip(b.seconds, d.seconds, strict=True)),
    }
    lines = [
        SECTION,
        "",
        f"Seed article ({len(ARTICLE.read_text(encoding='utf-8')):,} characters), bundled `{model}`, "
        f"llama-cpp-python {llama_cpp.__version__}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
        "`python benchmarks/local_model.py`.",
        f"N={reps} interleaved repetitions of (a) (b) (c) (d), median reported; every run starts from a "
        "cold prompt (the in-process model is reset, the server's prompt cache flushed, untimed). "
        f"All four send one identical request (max_tokens {body.get('max_tokens')}, temperature "
        f"{body.get('temperature')}, forced `DraftSummary` tool call) and get one answer (no re-asks).",
        "",
        "| path | s / article (median) | runs (s) | prompt + completion tokens | completion tok/s "
        "(end to end) | overhead (ratio of medians) | of which outside the model call (median) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for path in (a, c, b, d):
        overhead = {
            key: f"{key}/{base} = {ratio[key]:.2f} (per rep {', '.join(f'{r:.2f}' for r in paired[key])})"
            for key, base in (("a", "c"), ("b", "d"))
        }.get(path.key, "—")
        tokens = (
            f"{statistics.median(path.prompt_tokens):.0f} + {statistics.median(path.completion_tokens):.0f}"
        )
        outside = f"{statistics.median(path.outside) * 1000:.0f} ms" if path.outside else "—"
        lines.append(
            f"| ({path.key}) {path.label} | {path.median_s:.2f} | "
            f"{', '.join(f'{s:.2f}' for s in path.seconds)} | {tokens} | {path.tokens_per_s:.1f} | {overhead} "
            f"| {outside} |"
        )
    lines += [
        "",
        f"- Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after: the machine is "
        "shared, so read the ratios (measured side by side) rather than the absolute seconds.",
        "- Completion tok/s is completion tokens over the whole call, prompt processing included "
        "(the prompt is ~1,400 tokens and the answer under a hundred, so prompt processing dominates).",
        '- "Outside the model call" is the run\'s time minus the time spent inside the transport that '
        "reaches the model (`LlamaTransport` for (a), the HTTP round trip for (b)): prompt rendering, "
        "the openai SDK, instructor, validation, grounding. Any ratio above 1 beyond it is the model "
        "call itself varying (for (a) that includes `LlamaTransport` streaming the answer).",
        f"- (a) and (c) share one loaded model, (b) and (d) one server. Completion tokens: (a) "
        f"{_tokens(a)}, (c) {_tokens(c)}, (b) {_tokens(b)}, (d) {_tokens(d)}; the server answers the "
        "same request differently from the in-process model at temperature 0 (inside llama-cpp-python; "
        "not investigated here), so compare (a) with (c) and (b) with (d), not across.",
        "",
    ]
    return "\n".join(lines)


def _tokens(path: Timing) -> str:
    return "/".join(str(n) for n in sorted(set(path.completion_tokens)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each path (default 3)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    section, _ = run(args.reps)
    print(section)
    if not args.no_write:
        write_section(SECTION, section.removeprefix(SECTION))
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
