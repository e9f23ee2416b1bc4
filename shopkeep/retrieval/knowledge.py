"""The knowledge base: the store's policy and FAQ pages in ``data/kb/*.md``, chunked by section.

Each page is ``# Title``, an introduction, then ``## Section`` parts. A chunk is one section (the introduction opens
the first section's chunk); its source id is the file's stem (``returns``), so a reply can cite ``returns`` /
"Who can return and when". The text that is embedded and indexed starts with the page title and the
section heading, which is what a question usually names ("how long do refunds take").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^(#{1,2})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class KnowledgeChunk:
    """One section of one page."""

    source: str
    title: str
    section: str | None
    text: str
    seq: int

    @property
    def key(self) -> str:
        return f"kb:{self.source}#{self.seq}"

    @property
    def passage(self) -> str:
        """What a reply quotes: the section heading, then its text."""
        return f"{self.section}\n\n{self.text}" if self.section else self.text

    @property
    def document(self) -> str:
        """What is embedded and indexed: page title, section heading, text."""
        heading = f"{self.title}: {self.section}" if self.section else self.title
        return f"{heading}\n\n{self.text}"


def parse_page(source: str, markdown: str) -> list[KnowledgeChunk]:
    """The chunks of one page, in order; a page without a ``# Title`` takes its title from the source id."""
    title = source.replace("-", " ").capitalize()
    parts: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in markdown.splitlines():
        match = _HEADING.match(line)
        if match and len(match.group(1)) == 1:
            title = match.group(2)
        elif match:
            parts.append((match.group(2), []))
        else:
            parts[-1][1].append(line)
    texts = [(section, re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()) for section, lines in parts]
    intro = texts[0][1]
    sections = [(section, body) for section, body in texts[1:] if body]
    if not sections:
        return [KnowledgeChunk(source, title, None, intro, 0)] if intro else []
    # The introduction sums the page up: it opens the first section instead of competing with every section.
    first_section, first_body = sections[0]
    sections[0] = (first_section, f"{intro}\n\n{first_body}" if intro else first_body)
    return [KnowledgeChunk(source, title, section, body, n) for n, (section, body) in enumerate(sections)]


def load_knowledge_base(directory: Path) -> list[KnowledgeChunk]:
    """Every chunk of every page in ``directory`` (sorted by file name); an absent directory is an empty base."""
    if not directory.is_dir():
        return []
    chunks: list[KnowledgeChunk] = []
    for path in sorted(directory.glob("*.md")):
        chunks.extend(parse_page(path.stem, path.read_text(encoding="utf-8")))
    return chunks
