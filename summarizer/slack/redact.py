"""One redaction filter for every log handler the bot installs: no token, secret or key in a log.

The bot holds four secrets: the bot token (``xoxb-…``), the app-level token (``xapp-…``), the
signing secret and the model provider's API key. Any of them can reach a log line by accident:
a provider that echoes the request in its error, an exception whose text or traceback holds a
header, a library's debug output under ``--debug``. ``SecretFilter`` rewrites each record before
any handler formats it: the message with its arguments, the exception text and traceback, and
the stack; ``install`` puts one filter on every handler of the root logger (where Bolt's,
slack_sdk's, aiohttp's and our loggers all end up), so no handler is forgotten.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable

REDACTED = "[REDACTED]"
# Shorter values are not secrets but placeholders ("x", "test"); replacing them would garble logs.
MIN_SECRET = 8


class Redactor:
    """``redactor(text)``: ``text`` with every known secret replaced by ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        found = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET}
        self.secrets = sorted(found, key=len, reverse=True)  # a longer secret may contain a shorter

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class SecretFilter(logging.Filter):
    """Redacts a record in place: message and arguments, exception text, traceback and stack."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("summarizer.slack.redact")
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redactor(message), None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatted once here, redacted, and kept as the record's exception text: a formatter
            # uses exc_text as it is, and with exc_info cleared none can format the raw one again.
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = self.redactor(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


def install(redactor: Redactor, logger: logging.Logger | None = None) -> SecretFilter:
    """Put one ``SecretFilter`` on every handler of ``logger`` (the root logger by default),
    replacing a filter an earlier ``install`` put there. Returns the filter."""
    target = logger or logging.getLogger()
    secret_filter = SecretFilter(redactor)
    handlers = list(target.handlers) or [logging.lastResort]
    for handler in handlers:
        if handler is None:
            continue
        for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
            handler.removeFilter(old)
        handler.addFilter(secret_filter)
    return secret_filter
