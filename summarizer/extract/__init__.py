"""The model-facing core: what the model is asked for and how its answer is checked.

Owns the draft schema the model fills (``draft``), the prompts it is sent (``prompts``), grounding
of quotes and names in the article (``folding``, ``grounding``, ``hints``), the statement checked
against its evidence (``consistency``), the re-ask turn and the targeted repair (``reask``,
``repair``), chunking of long articles (``chunking``), and turning a checked draft into the public
records (``resolve``, ``merge``). Pure: no network, no provider, no files but the packaged prompts. May import
``summarizer.schema`` and ``summarizer.errors`` only; everything else imports it.
"""
