"""The newsroom Slack bot: the Bolt app and its handlers (``app``) and Block Kit rendering with
Slack's limits checked (``blocks``). Embeds ``pipeline.Summarizer`` in a long-running async service;
``blocks`` reads ``schema`` only. Needs the ``slack`` extra (slack-bolt, aiohttp).
"""
