"""The draft call prepared once sends what instructor's patched ``create`` sends, and parses alike.

``StructuredCall`` derives instructor's request for ``DraftSummary`` once per ``Summarizer``
instead of on every call. These tests hold it to the patched client, which stays the reference:
the same request body on the wire in every mode, the same exceptions for a draft that fails
validation, and usage booked once per answer from the completion the SDK parsed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import instructor
import openai
import pytest

from summarizer import Summarizer
from summarizer.config import Settings
from summarizer.extract.draft import grounding_against
from summarizer.extract.grounding import Article
from summarizer.extract.prompts import load_prompts
from summarizer.llm.structured import StructuredCall, response_model
from summarizer.testing import Reply, ScriptedLLM, tool_call_completion


def json_completion(draft: dict[str, Any]) -> dict[str, Any]:
    """An answer in the message text, as JSON and JSON-schema modes get it."""
    completion = tool_call_completion(draft)
    completion["choices"][0]["message"] = {"role": "assistant", "content": json.dumps(draft)}
    completion["choices"][0]["finish_reason"] = "stop"
    return completion


def answer_for(mode: str, draft: dict[str, Any]) -> dict[str, Any]:
    return tool_call_completion(draft) if mode == "tools" else json_completion(draft)


MODES = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
}


@pytest.mark.parametrize("mode", list(MODES))
def test_same_request_body_as_the_patched_client(
    mode: str, article: str, reference_draft: dict[str, Any]
) -> None:
    messages = load_prompts(None).render(article)
    kwargs = {"model": "gpt-4o-mini", "messages": messages, "max_tokens": 9000, "temperature": 0}

    reference = ScriptedLLM([answer_for(mode, reference_draft)])
    patched = instructor.from_openai(
        openai.OpenAI(api_key="x", http_client=httpx.Client(transport=reference)), mode=MODES[mode]
    )
    with grounding_against(Article(article)):
        expected = patched.chat.completions.create(
            response_model=response_model(), max_retries=0, **{**kwargs, "messages": list(messages)}
        )

    ours = ScriptedLLM([answer_for(mode, reference_draft)])
    client = openai.OpenAI(api_key="x", http_client=httpx.Client(transport=ours))
    call = StructuredCall(MODES[mode])
    with grounding_against(Article(article)):
        draft = call.call(client.chat.completions.create, {**kwargs, "messages": list(messages)})

    assert ours.requests == reference.requests
    assert draft.model_dump() == expected.model_dump()
    # Prepared once where the handler leaves the messages alone; JSON mode writes into them.
    assert (call.extra is None) == (mode == "json")


def test_a_failed_draft_raises_what_the_patched_client_raises(
    article: str, misquoted_draft: dict[str, Any]
) -> None:
    from instructor.core.exceptions import InstructorRetryException

    messages = load_prompts(None).render(article)
    llm = ScriptedLLM([tool_call_completion(misquoted_draft)])
    client = openai.OpenAI(api_key="x", http_client=httpx.Client(transport=llm))
    with grounding_against(Article(article)), pytest.raises(InstructorRetryException) as raised:
        StructuredCall(instructor.Mode.TOOLS).call(
            client.chat.completions.create, {"model": "m", "messages": messages}
        )
    assert raised.value.last_completion is not None
    assert "Yanukovich" in str(raised.value.__cause__)


def _cut_off(draft: dict[str, Any]) -> dict[str, Any]:
    completion = tool_call_completion(json.dumps(draft)[:200])
    completion["choices"][0]["finish_reason"] = "length"
    return completion


# What can come back instead of a draft that holds. Each is sent to instructor's patched client
# (max_retries=0, the reference) and to ours; what is raised must be the same.
FAILURES: dict[str, Callable[[dict[str, Any]], Reply | dict[str, Any]]] = {
    "a draft that fails grounding": lambda d: tool_call_completion(d),
    "arguments that are not JSON": lambda d: tool_call_completion('{"headline": "Khamenei'),
    "arguments of the wrong shape": lambda d: tool_call_completion({"headline": 3}),
    "no tool call at all": lambda d: json_completion(d),
    "an answer cut off at its limit": _cut_off,
    "an empty choice list": lambda d: {**tool_call_completion(d), "choices": []},
    "HTTP 401": lambda d: Reply({"error": {"message": "bad key"}}, status=401),
    "HTTP 400": lambda d: Reply({"error": {"message": "context too long"}}, status=400),
    "an HTML page with status 200": lambda d: Reply(
        b"<html>login</html>", headers={"content-type": "text/html"}
    ),
}


def _raised(run: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as raised:
        run()
    return raised.value


def _shape(exc: BaseException) -> tuple[Any, ...]:
    """What our error handling reads of an exception (provider_errors, pipeline.failed)."""
    cause = exc.__cause__
    completion = getattr(exc, "last_completion", None)
    return (
        type(exc),
        type(cause),
        str(cause) if cause is not None else str(exc),
        # instructor's loop also writes its running total into the completion's usage (zeroed
        # token details where the answer had none): the counts are what is read here.
        completion.model_dump(exclude={"usage"}) if hasattr(completion, "model_dump") else completion,
        (completion.usage.prompt_tokens, completion.usage.completion_tokens)
        if hasattr(completion, "usage")
        else None,
    )


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failure_raises_what_the_patched_client_raises(
    failure: str, article: str, misquoted_draft: dict[str, Any]
) -> None:
    import asyncio

    reply = FAILURES[failure](misquoted_draft)
    kwargs = {"model": "m", "messages": load_prompts(None).render(article), "max_tokens": 100}

    def sdk(transport: ScriptedLLM) -> openai.OpenAI:
        return openai.OpenAI(api_key="x", http_client=httpx.Client(transport=transport), max_retries=0)

    def patched() -> Any:
        client = instructor.from_openai(sdk(ScriptedLLM([reply])), mode=instructor.Mode.TOOLS)
        with grounding_against(Article(article)):
            return client.chat.completions.create(response_model=response_model(), max_retries=0, **kwargs)

    def ours() -> Any:
        with grounding_against(Article(article)):
            return StructuredCall(instructor.Mode.TOOLS).call(
                sdk(ScriptedLLM([reply])).chat.completions.create, kwargs
            )

    def ours_async() -> Any:
        async def main() -> Any:
            client = openai.AsyncOpenAI(
                api_key="x", http_client=httpx.AsyncClient(transport=ScriptedLLM([reply])), max_retries=0
            )
            with grounding_against(Article(article)):
                return await StructuredCall(instructor.Mode.TOOLS).acall(
                    client.chat.completions.create, kwargs
                )

        return asyncio.run(main())

    expected = _shape(_raised(patched))
    if failure == "an empty choice list":
        # instructor's loop, after its parser's error, builds a re-ask from choices[0] even with
        # no try left, and that IndexError becomes the cause. We make no re-ask of instructor's:
        # the parser's own error stays the cause (and provider_errors says "no choices").
        from instructor.v2.core.errors import ResponseParsingError

        assert expected[1] is IndexError
        expected = (
            expected[0],
            ResponseParsingError,
            "No choices in OpenAI response (mode: tool_call)",
            *expected[3:],
        )
    assert _shape(_raised(ours)) == expected
    assert _shape(_raised(ours_async)) == expected


def test_usage_is_booked_once_per_answer(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: Callable[..., Settings],
) -> None:
    replies = [
        tool_call_completion(misquoted_draft, prompt_tokens=1_000, completion_tokens=100),
        tool_call_completion(reference_draft, prompt_tokens=3_000, completion_tokens=200),
    ]
    llm = ScriptedLLM(replies)
    summary = Summarizer(replace(settings(), max_reasks=1), transport=llm).summarize(article)
    assert summary.meta is not None
    assert summary.meta.attempts == 2
    assert (summary.meta.usage.prompt_tokens, summary.meta.usage.completion_tokens) == (4_000, 300)


def test_messages_and_tool_in_extra_body_are_what_the_sdk_would_send(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: Callable[..., Settings],
) -> None:
    """The messages and the tool skip the SDK's request transform (``extra_body``): each body we
    sent, a first ask and a targeted re-ask, is what the SDK sends when handed the same
    arguments the ordinary way, transform included."""
    replies = [tool_call_completion(misquoted_draft), tool_call_completion(reference_draft)]
    llm = ScriptedLLM(replies)
    Summarizer(replace(settings(), max_reasks=1), transport=llm).summarize(article)
    assert len(llm.requests) == 2
    assert llm.requests[1]["tools"] != llm.requests[0]["tools"]  # the repair has its own tool

    for body in llm.requests:
        assert body["messages"] and body["tools"]
        plain = ScriptedLLM([tool_call_completion(reference_draft)])
        client = openai.OpenAI(api_key="x", http_client=httpx.Client(transport=plain))
        client.chat.completions.create(**body)
        assert plain.requests == [body]
