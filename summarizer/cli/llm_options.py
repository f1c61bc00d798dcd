"""The options every LLM-calling command shares, declared once, and how they become a Summarizer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from summarizer.config import Settings
    from summarizer.llm.pricing import Price
    from summarizer.pipeline import Summarizer

# Help panels: every command's options grouped the same way. Defaults are said in the help text,
# "(default X)", in one style; typer's own [default: ...] column is turned off in cli/__init__.py.
INPUT_OUTPUT = "Input/Output"
MODEL = "Model"
RECORDING = "Recording"
BUDGETS = "Budgets"
BATCH = "Batch"


def option(*names: str, panel: str, **kwargs: Any) -> Any:
    # show_default=False: our help texts say the default themselves, once, in one style.
    return typer.Option(*names, rich_help_panel=panel, show_default=False, **kwargs)


Model = Annotated[
    str | None,
    option(
        "--model",
        metavar="NAME",
        panel=MODEL,
        help="Model name (env SUMMARIZER_MODEL; default gpt-4.1-mini).",
    ),
]
BaseUrl = Annotated[
    str | None,
    option(
        "--base-url", metavar="URL", panel=MODEL, help="OpenAI-compatible server URL (env OPENAI_BASE_URL)."
    ),
]
Mode = Annotated[
    str | None,
    option(
        "--mode",
        metavar="MODE",
        panel=MODEL,
        help="instructor mode: tools, json_schema or json (default tools).",
    ),
]
Provider = Annotated[
    str | None,
    option(
        "--provider",
        metavar="NAME",
        panel=MODEL,
        help="openai (the API or any --base-url server) or local (llama.cpp in-process) (default openai).",
    ),
]
ModelPath = Annotated[
    Path | None,
    option(
        "--model-path",
        metavar="FILE",
        panel=MODEL,
        help="GGUF model for --provider local (default the bundled smoke-test model).",
    ),
]
MaxReasks = Annotated[
    int | None,
    option("--max-reasks", metavar="N", panel=MODEL, min=0, help="Validation re-asks (default 2)."),
]
MaxRetries = Annotated[
    int | None,
    option(
        "--max-retries",
        metavar="N",
        panel=MODEL,
        min=0,
        help="Transport retries on 429/5xx/timeouts (default 4).",
    ),
]
Timeout = Annotated[
    float | None,
    option("--timeout", metavar="SECONDS", panel=MODEL, min=1, help="Seconds per request (default 120)."),
]
Seed = Annotated[
    int | None, option("--seed", metavar="N", panel=MODEL, help="Sampling seed, for reproducible runs.")
]
Strict = Annotated[
    bool, option("--strict", panel=INPUT_OUTPUT, help="Fail instead of dropping ungrounded claims.")
]
Record = Annotated[
    Path | None,
    option(
        "--record",
        metavar="DIR",
        panel=RECORDING,
        help="Call the provider; save every exchange in DIR/cassette.json (summarize also writes the "
        "article and case.json: a case that `check DIR` replays).",
    ),
]
Replay = Annotated[
    Path | None,
    option(
        "--replay",
        metavar="DIR",
        panel=RECORDING,
        help="Answer from DIR/cassette.json; never touch the network.",
    ),
]
ReplayOrRecord = Annotated[
    Path | None,
    option(
        "--replay-or-record",
        metavar="DIR",
        panel=RECORDING,
        help="Replay what DIR/cassette.json holds, record what is missing.",
    ),
]
MaxOutputTokens = Annotated[
    int | None,
    option(
        "--max-output-tokens",
        metavar="N",
        panel=BUDGETS,
        min=16,
        help="Cap on the model's answer (default from the article).",
    ),
]
MaxInputTokens = Annotated[
    int | None,
    option(
        "--max-input-tokens",
        metavar="N",
        panel=BUDGETS,
        min=256,
        help="Chunk size for long articles, in tokens (default 2,500).",
    ),
]
MaxCost = Annotated[
    float | None,
    option(
        "--max-cost",
        metavar="USD",
        panel=BUDGETS,
        min=0,
        help="Dollar budget per article, over every attempt and chunk.",
    ),
]
MaxTokensTotal = Annotated[
    int | None,
    option(
        "--max-tokens-total",
        metavar="N",
        panel=BUDGETS,
        min=1,
        help="Token budget per article, over every attempt and chunk.",
    ),
]
TimeBudget = Annotated[
    float | None,
    option(
        "--time-budget",
        metavar="SECONDS",
        panel=BUDGETS,
        min=1,
        help="Seconds for one article, retries included (default 300).",
    ),
]
Pricing = Annotated[
    Path | None,
    option(
        "--pricing",
        metavar="FILE",
        panel=BUDGETS,
        help='Price table JSON {"model": {"input": $/M, "output": $/M}} (env SUMMARIZER_PRICING).',
    ),
]
NoCache = Annotated[
    bool,
    option(
        "--no-cache",
        panel=INPUT_OUTPUT,
        help="Neither read nor write the summary cache (SUMMARIZER_CACHE_DIR).",
    ),
]
Quiet = Annotated[
    bool,
    option("--quiet", "-q", panel=INPUT_OUTPUT, help="No warnings on stderr (errors are still printed)."),
]
Debug = Annotated[bool, option("--debug", panel=INPUT_OUTPUT, help="Show tracebacks.")]


# The parameters of a command that become Settings (each declared above, once).
SETTINGS_OPTIONS = (
    "model",
    "base_url",
    "mode",
    "max_reasks",
    "max_retries",
    "timeout",
    "strict",
    "provider",
    "model_path",
    "max_output_tokens",
    "max_input_tokens",
    "max_cost",
    "max_tokens_total",
    "time_budget",
    "seed",
)


def settings_from(parameters: Mapping[str, Any]) -> Settings:
    """Settings from a command's parameters (its ``locals()`` taken first thing in the command)."""
    return build_settings(**{name: parameters[name] for name in SETTINGS_OPTIONS if name in parameters})


def build_settings(
    *,
    model: str | None = None,
    base_url: str | None = None,
    mode: str | None = None,
    max_reasks: int | None = None,
    max_retries: int | None = None,
    timeout: float | None = None,
    strict: bool = False,
    provider: str | None = None,
    model_path: Path | None = None,
    max_output_tokens: int | None = None,
    max_input_tokens: int | None = None,
    max_cost: float | None = None,
    max_tokens_total: int | None = None,
    time_budget: float | None = None,
    seed: int | None = None,
) -> Settings:
    from summarizer.config import Settings
    from summarizer.llm.client import for_provider

    settings = Settings.from_env(
        model=model,
        base_url=base_url,
        mode=mode,
        max_reasks=max_reasks,
        timeout=timeout,
        strict=strict or None,
        provider_name=provider,
        model_path=model_path,
        max_output_tokens=max_output_tokens,
        max_input_tokens=max_input_tokens,
        max_cost_usd=max_cost,
        max_tokens_total=max_tokens_total,
        time_budget=time_budget,
        seed=seed,
    )
    if max_retries is not None:
        settings = replace(settings, retry=replace(settings.retry, max_retries=max_retries))
    return for_provider(settings)


def build_summarizer(
    settings: Settings,
    *,
    record: Path | None = None,
    replay: Path | None = None,
    replay_or_record: Path | None = None,
    no_cache: bool = False,
    pricing: Path | None = None,
    quiet: bool = False,
) -> Summarizer:
    from summarizer.cache import SummaryCache
    from summarizer.cli.cassettes import cassette_option
    from summarizer.pipeline import Summarizer

    prices = price_table(pricing)
    settings, transport = cassette_option(settings, record, replay, replay_or_record)
    if settings.provider == "local" and settings.model_path is not None and replay is None:
        from summarizer.llm.local import BUNDLED_MODEL_FILE, BUNDLED_MODEL_NOTICE

        if settings.model_path.name == BUNDLED_MODEL_FILE:
            warn(BUNDLED_MODEL_NOTICE, quiet=quiet)
    # Recording and replaying are about the exchange itself: a cache hit would skip it.
    use_cache = not no_cache and transport is None
    return Summarizer(
        settings,
        transport=transport,
        cache=SummaryCache(on_warning=lambda line: warn(line, quiet=quiet)) if use_cache else None,
        prices=prices,
    )


def warn(message: str, *, quiet: bool) -> None:
    """A warning: one line on stderr, whatever the output format (stdout may be piped to jq)."""
    if not quiet:
        from summarizer.cli.running import warn as say  # the one place a warning is written (redacted)

        say(message)


def price_table(pricing: Path | None = None) -> Mapping[str, Price]:
    """The list prices: ``--pricing FILE``, else ``SUMMARIZER_PRICING``, laid over the defaults."""
    import os

    from summarizer.llm.pricing import DEFAULT_PRICES, load_prices

    pricing = pricing or (
        Path(os.environ["SUMMARIZER_PRICING"]) if os.environ.get("SUMMARIZER_PRICING") else None
    )
    return load_prices(pricing) if pricing else DEFAULT_PRICES
