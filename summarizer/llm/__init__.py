"""Reaching a model: everything between a rendered request and a parsed completion.

Owns building the openai clients (``client``), the draft call with instructor's request prepared
once (``structured``), the retrying httpx transports (``transport``), the network transports under
them (``network``: aiohttp for async), the in-process llama.cpp transport (``local``), cassettes for record/replay
(``recording``), per-call usage booking (``ledger``), output and spending budgets (``budget``),
prices (``pricing``), what we know about models (``catalogue``), and turning provider failures
into our one-line errors (``provider_errors``). May import ``schema``, ``errors``, ``config`` and
``extract`` (for token estimates); never ``pipeline`` or anything above it.
"""
