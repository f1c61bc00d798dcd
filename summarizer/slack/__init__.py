"""The newsroom Slack bot: the Bolt app and its listeners (``app``), what a message asks for
(``text``), exactly-once delivery (``dedup``), backpressure (``limits``), the work off the event
loop (``worker``), Web API writes with their fallbacks (``posting``), secrets kept out of logs
(``redact``) and Block Kit rendering with Slack's limits checked (``blocks``). Embeds
``pipeline.Summarizer`` in a long-running async service; ``blocks`` and ``text`` are pure. Needs
the ``slack`` extra (slack-bolt, aiohttp).
"""
