"""Backpressure and reading Slack text: the per-user limit and the bounded backlog refuse with a
line saying when to retry; links, mentions and escaping in Slack's markup are read as a person
would read them (markup per Slack's "Formatting text for app surfaces" docs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("slack_bolt")
pytest.importorskip("aiohttp")

import slack_harness
from slack_fakes import BotServer, FakeSlack
from slack_harness import post_signed, settle
from slack_payloads import command_form

from summarizer.slack.limits import Backlog, UserRateLimit, in_words
from summarizer.slack.text import (
    MIN_WORDS,
    domain_allowed,
    find_links,
    plain_text,
    read_request,
    unescape,
    word_count,
)
from summarizer.testing import FakeOpenAIServer

slack = slack_harness.slack
llm = slack_harness.llm
bot_for = slack_harness.bot_for


# --------------------------------------------------------------------------- through the bot


def test_one_user_over_the_limit_is_told_when_to_retry(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    bot = bot_for(llm, per_user=2, per_user_window=600)
    answers = [post_signed(bot, command_form(article, f"{slack.url}/response/u")) for _ in range(3)]
    assert [a.text for a in answers[:2]] == ["", ""]
    refused = answers[2].json()
    assert refused["response_type"] == "ephemeral"
    assert "You have asked for 2 summaries in the last 10 minutes; try again in 10 minutes" in refused["text"]
    # Someone else is not held up by that user.
    other = post_signed(bot, command_form(article, f"{slack.url}/response/v", user="U0OTHER"))
    assert other.text == ""
    slack.wait_for("chat.update", 3)
    settle(0.3)
    assert llm.request_count == 3


@pytest.fixture
def slow_llm(reference_draft: dict[str, Any]) -> Any:
    # Slow enough that the first two are surely still in hand when the third arrives.
    with FakeOpenAIServer(reference_draft, latency=3.0) as server:
        yield server


def test_a_full_backlog_refuses_with_an_estimate(
    bot_for: Callable[..., BotServer], slack: FakeSlack, slow_llm: FakeOpenAIServer, article: str
) -> None:
    llm = slow_llm
    bot = bot_for(llm, max_concurrent=1, max_queued=1)
    bodies = [command_form(article, f"{slack.url}/response/{n}", user=f"U{n}") for n in range(4)]
    answers: list[Any] = [None] * 4

    def send(n: int) -> None:
        answers[n] = post_signed(bot, bodies[n])

    # Two at once fill the backlog (one running, one waiting).
    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    send(2)
    assert [a.text for a in answers[:2]] == ["", ""]
    refused = answers[2].json()
    assert refused["response_type"] == "ephemeral"
    assert refused["text"].startswith(":construction: I'm busy with 2 summaries; try again in about ")
    slack.wait_for("chat.update", 2, timeout=30)
    send(3)  # places are given back once summaries are done
    assert answers[3].text == ""
    slack.wait_for("chat.update", 3, timeout=30)
    assert llm.request_count == 3
    assert llm.peak_in_flight == 1


# --------------------------------------------------------------------------- the limits alone


def test_user_rate_limit_is_a_sliding_window() -> None:
    now = [0.0]
    limit = UserRateLimit(2, 60, clock=lambda: now[0])
    assert limit.wait_for("U1") is None
    now[0] = 10
    assert limit.wait_for("U1") is None
    now[0] = 20
    assert limit.wait_for("U1") == 40  # the first request leaves the window at 60
    assert limit.wait_for("U2") is None
    now[0] = 60
    assert limit.wait_for("U1") is None
    assert UserRateLimit(0, 60).wait_for("U1") is None  # 0: no limit


def test_backlog_admits_up_to_running_plus_waiting() -> None:
    backlog = Backlog(2, 1)
    assert [backlog.admit() for _ in range(4)] == [True, True, True, False]
    backlog.release()
    assert backlog.admit() is True
    assert backlog.wait_estimate() > 0


@pytest.mark.parametrize(
    ("seconds", "words"), [(0.2, "1 second"), (45, "45 seconds"), (60, "1 minute"), (95, "2 minutes")]
)
def test_waits_in_words(seconds: float, words: str) -> None:
    assert in_words(seconds) == words


# --------------------------------------------------------------------------- reading Slack text

ARTICLE = " ".join(["Officials said the bridge would reopen on Monday after repairs."] * 9)


def test_unescape_undoes_slacks_three_escapes_once() -> None:
    assert unescape("a &amp; b &lt;c&gt; &amp;lt;") == "a & b <c> &lt;"


@pytest.mark.parametrize(
    ("raw", "links"),
    [
        ("<https://site.example/article?id=1&amp;ref=x|label>", ["https://site.example/article?id=1&ref=x"]),
        ("<https://site.example/a>", ["https://site.example/a"]),
        ("see https://site.example/a?b=1&amp;c=2, then", ["https://site.example/a?b=1&c=2"]),
        ("(https://site.example/wiki/Foo_(bar)).", ["https://site.example/wiki/Foo_(bar)"]),
        (
            "<@W222> <https://a.example/1> and <https://b.example/2|two>",
            ["https://a.example/1", "https://b.example/2"],
        ),
        ("<mailto:desk@news.example|desk> <#C1|news> <!here>", []),
        ("<https://a.example/1> twice <https://a.example/1>", ["https://a.example/1"]),
    ],
)
def test_find_links(raw: str, links: list[str]) -> None:
    assert find_links(raw) == links


def test_plain_text_drops_mentions_and_keeps_link_labels() -> None:
    raw = "Hi <@U123>, see <https://a.example/x?a=1&amp;b=2|the story> in <#C1|news> &lt;3 &amp; <!here>"
    assert plain_text(raw) == "Hi , see the story in <3 &"


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("tl;dr <https://news.example/a?id=1&amp;ref=x>", "https://news.example/a?id=1&ref=x"),
        ("<@UBOT> https://news.example/a", "https://news.example/a"),
        ("can you summarize <https://news.example/a|this>? thanks!", "https://news.example/a"),
    ],
)
def test_a_link_with_a_few_words_around_it_is_the_request(raw: str, url: str) -> None:
    assert read_request(raw).url == url


def test_article_text_is_the_request_even_with_a_link_in_it() -> None:
    asked = read_request(f"<@UBOT> {ARTICLE} Source: <https://news.example/a|Daily Ledger>")
    assert asked.url is None
    assert asked.text is not None and asked.text.startswith("Officials said") and "Daily Ledger" in asked.text
    assert "<@" not in asked.text


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("<@W222> test", "That is 1 word and no link"),
        ("", "a link to a news page"),
        ("<@W222>", "a link to a news page"),
        ("Breaking: the council votes tonight", "5 words"),
    ],
)
def test_text_that_is_neither_a_link_nor_an_article_is_refused(raw: str, why: str) -> None:
    asked = read_request(raw)
    assert asked.url is None and asked.text is None
    assert asked.refusal is not None and why in asked.refusal


def test_an_unfurled_link_counts_when_the_text_has_none() -> None:
    assert read_request("", extra_links=["https://news.example/b"]).url == "https://news.example/b"


def test_word_count_handles_unspaced_scripts() -> None:
    assert word_count("one two  three\nfour") == 4
    assert word_count("日本の首相は月曜日に記者会見を開き" * 10) >= MIN_WORDS


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://apnews.com/article/x", True),
        ("https://www.apnews.com/article/x", True),
        ("https://notapnews.com/x", False),
        ("https://apnews.com.evil.example/x", False),
        ("https://voanews.com./x", True),
        ("not a url", False),
    ],
)
def test_unfurl_domains(url: str, allowed: bool) -> None:
    assert domain_allowed(url, ["apnews.com", " voanews.com "]) is allowed
