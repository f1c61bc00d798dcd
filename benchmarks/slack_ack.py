"""Slack bot acknowledgement latency under a burst of URL commands, in one run.

    python benchmarks/slack_ack.py            # 100 commands, rewrites "## Slack ack latency" in RESULTS.md
    python benchmarks/slack_ack.py --quick    # 20 commands, prints only

The bot runs as Slack would find it: ``summarizer slack serve`` in its own process (its own
GIL), with the Web API played by the tests' ``FakeSlack``, the model by ``FakeOpenAIServer``
(``--latency`` seconds a completion) and the article by a local page server (the real news page
fixture, fetched and extracted by the bot). Measured side by side in the same run:

(a) start-up: from launching the command to its first ``/healthz`` answer;
(b) one command on an idle, warmed-up bot: ack latency and ``/healthz`` latency (the baseline);
(c) N signed ``/summarize <url>`` commands sent at once from a third process (each a different user, each URL
    escaped the way Slack sends it): p50 and max ack latency, and ``/healthz`` polled every
    50 ms during the burst (p50, max); ratios to (b). Slack's limit for an ack is 3 s.
(d) time until all N summaries replaced their working notes (chat.update);
(e) the same burst refused at the ack (text too short): the acks' own cost with no work behind
    them, which tells how much of (c) is the background work competing for the CPU;
(f) a control: N concurrent ``GET /healthz`` from the same client, the floor that the machine,
    the client and the HTTP server set for any burst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(Path(__file__).resolve().parent)]

BOT_TOKEN = "xoxb-bench-000000000000-BENCHTOKEN"
API_KEY = "sk-bench-000000000000000000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _burst_in_child(port: int, bodies: list[str]) -> tuple[list[float], list[float], list[int]]:
    """The burst from a process of its own: in this one, the fakes' own work (the bot's notes,
    its page fetches) would hold up the client and inflate what it measures."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_run_burst, (port, bodies))


def _run_burst(port: int, bodies: list[str]) -> tuple[list[float], list[float], list[int]]:
    from slack_payloads import sign

    return asyncio.run(_burst(port, bodies, sign))


def _control_in_child(port: int, count: int) -> list[float]:
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_run_control, (port, count))


def _run_control(port: int, count: int) -> list[float]:
    """``count`` concurrent GET /healthz from the same kind of client: what the client, the
    HTTP server and the machine cost, with no Slack request behind them."""
    import httpx

    async def run() -> list[float]:
        limits = httpx.Limits(max_connections=count + 4, max_keepalive_connections=count + 4)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:

            async def one() -> float:
                started = time.perf_counter()
                await client.get(f"http://127.0.0.1:{port}/healthz")
                return time.perf_counter() - started

            return list(await asyncio.gather(*(one() for _ in range(count))))

    return asyncio.run(run())


async def _burst(port: int, bodies: list[str], sign: object) -> tuple[list[float], list[float], list[int]]:
    import httpx

    url = f"http://127.0.0.1:{port}"
    acks: list[float] = []
    health: list[float] = []
    statuses: list[int] = []
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=len(bodies) + 4, max_keepalive_connections=len(bodies) + 4)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def command(body: str) -> None:
            started = time.perf_counter()
            response = await client.post(f"{url}/slack/events", content=body, headers=sign(body))  # type: ignore[operator]
            acks.append(time.perf_counter() - started)
            statuses.append(response.status_code)

        async def poll() -> None:
            while not done.is_set():
                started = time.perf_counter()
                await client.get(f"{url}/healthz")
                health.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)

        poller = asyncio.create_task(poll())
        await asyncio.gather(*(command(b) for b in bodies))
        await asyncio.sleep(1.0)  # the bot's background work (fetches, extraction) goes on: keep polling
        done.set()
        await poller
    return acks, health, statuses


def _row(name: str, idle: float, burst: float, bare: float) -> str:
    ms = lambda v: f"{v * 1000:.0f} ms" if v >= 0.01 else f"{v * 1000:.1f} ms"  # noqa: E731
    return f"| {name} | {ms(idle)} | {ms(burst)} | {burst / idle:.1f}x | {ms(bare)} | {bare / idle:.1f}x |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--latency", type=float, default=2.0)
    args = parser.parse_args()
    count = 20 if args.quick else args.commands
    load_before = os.getloadavg()[0]

    from page_server import Page, PageServer, draft_for_text, news_page
    from slack_fakes import FakeSlack
    from slack_payloads import command_form

    from summarizer.inputs.url import fetch_article
    from summarizer.testing import FakeOpenAIServer

    reference = json.loads((ROOT / "fixtures" / "references" / "khamenei-moscow-exiles.json").read_text())
    slack = FakeSlack()
    with PageServer({"/article": Page(news_page)}) as site, tempfile.TemporaryDirectory() as cache:
        draft = draft_for_text(reference, fetch_article(f"{site.url}/article").text)
        with FakeOpenAIServer(draft, latency=args.latency, keep_bodies=False) as model:
            port = _free_port()
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "SUMMARIZER_"))
            }
            env.update(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET="8f742231b10e8888abcd99yyyzzz85a5",
                SLACK_API_URL=slack.api_url,
                OPENAI_API_KEY=API_KEY,
                SUMMARIZER_CACHE_DIR=cache,
            )
            script = Path(sys.executable).with_name("summarizer")
            command = [str(script), "slack", "serve", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--base-url", model.base_url, "--allow-private-urls", "--no-cache"]
            command += ["--per-user", "0", "--max-queued", str(count), "--max-concurrent", "16"]
            launched = time.perf_counter()
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            try:
                import httpx

                while True:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok\n":
                            break
                    except httpx.TransportError:
                        pass
                    if process.poll() is not None:
                        raise SystemExit(f"the bot did not start: {process.communicate()[1]}")
                    time.sleep(0.02)
                startup = time.perf_counter() - launched

                def bodies(n: int, tag: str) -> list[str]:
                    url = f"{site.url}/article"
                    return [
                        command_form(
                            f"<{url}?n={tag}{i}&amp;ref=slack>",
                            f"{slack.url}/response/{i}",
                            user=f"U{tag}{i:04d}",
                        )
                        for i in range(n)
                    ]

                _burst_in_child(port, bodies(1, "warm"))  # Bolt's first auth.test, the first connections
                slack.wait_for("chat.update", 1, timeout=60)
                idle_acks, idle_health, _ = _burst_in_child(port, bodies(1, "idle"))
                slack.wait_for("chat.update", 2, timeout=60)
                updates_before = len(slack.of("chat.update"))
                burst_started = time.monotonic()
                acks, health, statuses = _burst_in_child(port, bodies(count, "b"))
                slack.wait_for("chat.update", updates_before + count, timeout=600)
                all_done = max(slack.times("chat.update")) - burst_started
                # The same burst refused at the ack ("@W222 hi"): the acks' own cost, no work behind them.
                refused = [
                    command_form("<@W222> hi", f"{slack.url}/response/r{i}", user=f"Ur{i:04d}")
                    for i in range(count)
                ]
                bare_acks, bare_health, _ = _burst_in_child(port, refused)
                control = _control_in_child(port, count)
            finally:
                process.terminate()
                process.communicate(timeout=20)
            llm_calls = model.request_count
    slack.close()

    p50_ack, max_ack = statistics.median(acks), max(acks)
    p50_h, max_h = statistics.median(health), max(health)
    idle_ack, idle_h = idle_acks[0], statistics.median(idle_health)
    ok = sum(1 for s in statuses if s == 200)
    lines = [
        f"{count} signed `/summarize <url>` commands sent at once to `summarizer slack serve` (its own process);",
        f"model latency {args.latency:g} s (FakeOpenAIServer), pages from a local server (the news page fixture,",
        f"fetched and extracted by the bot), Web API FakeSlack. {platform.python_version()} on {os.cpu_count()} shared cores,",
        f"load average {load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after (other jobs share the machine).",
        "",
        f"| measure | idle bot (1 command) | burst of {count} | ratio | burst refused at the ack | ratio |",
        "|---|---|---|---|---|---|",
        _row("ack latency p50", idle_ack, p50_ack, statistics.median(bare_acks)),
        _row("ack latency max", idle_ack, max_ack, max(bare_acks)),
        _row("/healthz p50", idle_h, p50_h, statistics.median(bare_health)),
        _row("/healthz max", max(idle_health), max_h, max(bare_health)),
        "",
        f"- control, {count} concurrent `GET /healthz` from the same client (no Slack request): "
        f"p50 {statistics.median(control) * 1000:.0f} ms, max {max(control) * 1000:.0f} ms: the floor this "
        "machine, the client and the HTTP server set for any burst.",
        f"- acks: {ok}/{count} HTTP 200; max {max_ack:.2f} s against Slack's 3 s limit (goal: under 1 s).",
        f"- /healthz polled {len(health)} times during the burst and the second after it.",
        f"- start-up, launch to first `/healthz` answer: {startup:.2f} s (goal: under 5 s).",
        f"- all {count} summaries in place (chat.update) {all_done:.1f} s after the burst began "
        f"({llm_calls} model calls in all, the 2 idle ones included; 16 at a time).",
        "",
        "Run: `python benchmarks/slack_ack.py` (`--quick`: 20 commands, prints only).",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.quick:
        from results import write_section

        write_section("## Slack ack latency", body)


if __name__ == "__main__":
    main()
