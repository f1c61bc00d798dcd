"""Regression checks against recorded answers: fixture cases (``cases``), the meaning-level diff and
precision/recall scores (``compare``), and the pytest plugin (``pytest_plugin``). Cases replay
through ``llm.recording`` and ``pipeline``; ``compare`` reads ``schema`` only.
"""
