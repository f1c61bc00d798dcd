"""Read a review page back with the standard library's HTML parser, the way a browser would.

``Probe`` reconstructs the article text shown on the page (the text inside ``div.article``,
without the superscript claim numbers we add) and records, for every element inside it, the
character range of the article it wraps, so tests can check each mark against ``article[start:end]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Piece:
    tag: str
    attrs: dict[str, str]
    start: int
    end: int


@dataclass
class Probe(HTMLParser):
    article_class: str = "article"
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    pieces: list[Piece] = field(default_factory=list)
    article_parts: list[str] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._stack: list[tuple[str, dict[str, str], int, bool]] = []  # inside the article only
        self._inside = 0  # depth inside div.article (0: outside)
        self._in_ref = 0
        self._in_script = False
        self._offset = 0

    @property
    def article(self) -> str:
        return "".join(self.article_parts)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag in VOID:
            return
        classes = values.get("class", "").split()
        if self._inside:
            self._inside += 1
            is_ref = tag == "sup" and "ref" in classes
            self._in_ref += is_ref
            self._stack.append((tag, values, self._offset, is_ref))
        elif tag == "div" and self.article_class in classes:
            self._inside = 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if tag in VOID or not self._inside:
            return
        self._inside -= 1
        if self._inside == 0:
            return
        open_tag, values, start, is_ref = self._stack.pop()
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"
        self._in_ref -= is_ref
        if not is_ref and not self._in_ref:
            self.pieces.append(Piece(tag, values, start, self._offset))

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
            return
        self.text_parts.append(data)
        if self._inside and not self._in_ref:
            self.article_parts.append(data)
            self._offset += len(data)

    def ranges(self, **attrs: str) -> list[tuple[int, int]]:
        """The merged ranges covered by pieces whose attributes include ``attrs``."""
        return merged(
            [(p.start, p.end) for p in self.pieces if all(p.attrs.get(k) == v for k, v in attrs.items())]
        )


def probe(page: str) -> Probe:
    parser = Probe()
    parser.feed(page)
    parser.close()
    return parser


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
