"""Load the prompt templates, render them with an article, and name their version.

The templates are files (``prompts/system.md`` and ``prompts/user.md``) so that
editors can read and change them without touching code. The prompt version is a
hash of their bytes: any edit changes it, which is what lets recordings and
golden fixtures notice that the prompt moved.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from summarizer.errors import ConfigError

ARTICLE_SLOT = "{{article}}"
_FILES = ("system.md", "user.md")


@dataclass(frozen=True)
class PromptSet:
    system: str
    user: str

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for text in (self.system, self.user):
            digest.update(text.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()[:12]

    def render(self, article: str) -> list[dict[str, str]]:
        """The chat messages for ``article``: the system prompt, then the user template filled in."""
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user.replace(ARTICLE_SLOT, fence(article))},
        ]


def fence(article: str) -> str:
    """The article as data: a closing delimiter inside it must not end the data early.

    An article that contains "</article>" could otherwise close the block and have its
    remainder read as instructions. The changed tag cannot be quoted back, so a claim
    that leans on it fails grounding rather than slipping through.
    """
    return re.sub(r"<\s*/\s*article\s*>", "</ article>", article, flags=re.IGNORECASE)


def default_prompts_dir() -> Path:
    """Where the shipped prompts are: inside the wheel, or the repository's ``prompts/``."""
    packaged = Path(str(resources.files("summarizer"))) / "_prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "prompts"


def load_prompts(directory: Path | None = None) -> PromptSet:
    directory = directory or default_prompts_dir()
    texts = []
    for name in _FILES:
        path = directory / name
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read prompt file {path}: {exc.strerror or exc}") from None
    system, user = texts
    if ARTICLE_SLOT not in user:
        raise ConfigError(f"prompt file {directory / 'user.md'} has no {ARTICLE_SLOT} slot")
    return PromptSet(system=system, user=user)
