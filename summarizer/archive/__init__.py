"""A whole archive through a provider's batch engine (OpenAI's Batch API, or any server with its
files + batches endpoints): request files split by the provider's limits (``split``), the
resumable state next to the output (``state``), the provider's endpoints through the openai SDK
(``endpoint``), each answer judged final or sent back as the next round's re-ask (``answers``), and
the driver that submits, polls, downloads and imports (``run``). Built on ``batch.provider_api``,
so a request line is what a live call sends and an answer is checked as a live one is.
May import anything below ``cli``.
"""
