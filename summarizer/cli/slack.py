"""``summarizer slack serve``: run the newsroom Slack bot (``/summarize`` and the message shortcut)."""

from __future__ import annotations

import typer

from summarizer.cli import llm_options as opt
from summarizer.cli.running import run_guarded

slack_app = typer.Typer(
    name="slack",
    help="The newsroom Slack bot (needs: pip install 'summarizer\\[slack]').",
    no_args_is_help=True,
)

# SLACK_API_URL is not a Slack convention: it points the bot's Web API calls at another server
# (an egress proxy, or a fake Slack in tests).
API_URL_VAR = "SLACK_API_URL"


@slack_app.command("serve")
def serve_command(
    port: int = typer.Option(
        3000, "--port", min=1, max=65535, help="HTTP port (not used with --socket-mode)."
    ),
    host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on."),
    path: str = typer.Option("/slack/events", "--path", help="Request URL path for commands and shortcuts."),
    socket_mode: bool = typer.Option(
        False, "--socket-mode", help="Connect out to Slack over Socket Mode (needs SLACK_APP_TOKEN)."
    ),
    command: str = typer.Option("/summarize", "--command", help="The slash command's name."),
    allow_private_urls: bool = typer.Option(
        False,
        "--allow-private-urls",
        help="Let users have the bot fetch local and private-network pages (off: public pages only).",
    ),
    max_concurrent: int = typer.Option(8, "--max-concurrent", min=1, help="Summaries run at once."),
    max_queued: int = typer.Option(
        32,
        "--max-queued",
        min=0,
        help="Summaries waiting for a free slot; beyond that, requests are refused.",
    ),
    per_user: int = typer.Option(
        10, "--per-user", min=0, help="Requests one person may make per --per-user-window (0: no limit)."
    ),
    per_user_window: float = typer.Option(
        600.0, "--per-user-window", min=1.0, help="The per-user limit's window, in seconds."
    ),
    unfurl_domains: str = typer.Option(
        "",
        "--unfurl-domains",
        help="Comma-separated domains whose shared links get a summary unfurl (e.g. apnews.com,voanews.com).",
    ),
    model: opt.Model = None,
    base_url: opt.BaseUrl = None,
    mode: opt.Mode = None,
    max_reasks: opt.MaxReasks = None,
    max_retries: opt.MaxRetries = None,
    timeout: opt.Timeout = None,
    strict: opt.Strict = False,
    provider: opt.Provider = None,
    model_path: opt.ModelPath = None,
    max_output_tokens: opt.MaxOutputTokens = None,
    max_input_tokens: opt.MaxInputTokens = None,
    max_cost: opt.MaxCost = None,
    max_tokens_total: opt.MaxTokensTotal = None,
    time_budget: opt.TimeBudget = None,
    seed: opt.Seed = None,
    no_cache: opt.NoCache = False,
    pricing: opt.Pricing = None,
    debug: opt.Debug = False,
) -> None:
    """Serve the bot: tokens from SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)."""
    options = dict(locals())  # the parameters, before anything else is defined

    def body() -> None:
        import asyncio
        import logging
        import os

        from summarizer.errors import ConfigError
        from summarizer.slack.app import _require_bolt

        _require_bolt()
        wanted = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET"]
        missing = [name for name in wanted if not os.environ.get(name)]
        if missing:
            raise ConfigError(
                f"missing {' and '.join(missing)}: set them in the environment (see README, 'Slack bot')"
            )
        settings = opt.settings_from(options)
        _check_llm(settings)
        summarizer = opt.build_summarizer(settings, no_cache=no_cache, pricing=pricing)
        if not debug:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from summarizer.cache import default_cache_dir
        from summarizer.slack.app import create_app, create_web_app, run_socket_mode
        from summarizer.slack.dedup import DELIVERIES_FILE, SQLiteDeliveryStore

        app = create_app(
            summarizer,
            token=os.environ["SLACK_BOT_TOKEN"],
            signing_secret=os.environ.get("SLACK_SIGNING_SECRET"),
            app_token=os.environ.get("SLACK_APP_TOKEN"),
            client_base_url=os.environ.get(API_URL_VAR) or None,
            command=command,
            unfurl_domains=[d for d in unfurl_domains.split(",") if d.strip()],
            allow_private_urls=allow_private_urls,
            max_concurrent=max_concurrent,
            max_queued=max_queued,
            per_user=per_user,
            per_user_window=per_user_window,
            # Exactly-once claims survive a restart, next to the summary cache (even with --no-cache).
            deliveries=SQLiteDeliveryStore(default_cache_dir() / DELIVERIES_FILE),
            socket_mode=socket_mode,
        )
        if socket_mode:
            typer.echo("summarizer: Slack bot connecting over Socket Mode (Ctrl-C to stop)", err=True)
            asyncio.run(run_socket_mode(app, os.environ["SLACK_APP_TOKEN"]))
            return
        from aiohttp import web

        typer.echo(
            f"summarizer: Slack bot listening on http://{host}:{port}{path} (Ctrl-C to stop)", err=True
        )
        try:
            # Two extraction threads: enough to keep up, few enough to leave the loop its GIL.
            web.run_app(create_web_app(app, path=path, worker_threads=2), host=host, port=port, print=None)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    run_guarded(body, debug=debug)


def _check_llm(settings: object) -> None:
    """Fail at start, not at the first request, when no model can be called (no API key, bad mode)."""
    from summarizer.config import MODES, Settings
    from summarizer.errors import ConfigError
    from summarizer.llm.client import require_credentials

    assert isinstance(settings, Settings)
    require_credentials(settings)
    if settings.mode not in MODES:
        raise ConfigError(f"unknown mode {settings.mode!r}: choose one of {', '.join(MODES)}")
