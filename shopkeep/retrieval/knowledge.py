"""The knowledge base: the shop's policy and FAQ pages (its own, imported into the store, or the demo's in
``data/kb/*.md``), chunked by section.

Each page is ``# Title``, an introduction, then ``## Section`` parts. A chunk is one section (the introduction opens
the first section's chunk); its source id is the file's stem (``returns``), so a reply can cite ``returns`` /
"Who can return and when". The text that is embedded and indexed starts with the page title and the
section heading, which is what a question usually names ("how long do refunds take").

A section may carry the ways customers ask for it, in an HTML comment under its heading (invisible where Markdown
is rendered): ``<!-- asked: how much is left on my card | whats my giftcard balance -->``. Each is indexed as a
document of its own (``asked_key``) that leads to its section, so a question worded unlike the heading still finds
it; they are never quoted in a reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADING = re.compile(r"^(#{1,2})\s+(.+?)\s*#*\s*$")
_ASKED = re.compile(r"^\s*<!--\s*asked:(.*?)-->\s*$")


@dataclass(frozen=True)
class KnowledgeChunk:
    """One section of one page."""

    source: str
    title: str
    section: str | None
    text: str
    seq: int
    asked: tuple[str, ...] = ()
    """How customers ask for this section (each indexed as a document of its own, never quoted)."""

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


ASKED = "?asked="


def asked_key(section_key: str, n: int) -> str:
    """The document key of a section's ``n``-th way of asking for it."""
    return f"{section_key}{ASKED}{n}"


def section_key(doc_key: str) -> str:
    """The section a knowledge document belongs to (itself, or the section it asks for)."""
    return doc_key.split(ASKED, 1)[0]


def parse_page(source: str, markdown: str) -> list[KnowledgeChunk]:
    """The chunks of one page, in order; a page without a ``# Title`` takes its title from the source id."""
    title = source.replace("-", " ").capitalize()
    parts: list[tuple[str | None, list[str], list[str]]] = [(None, [], [])]
    for line in markdown.splitlines():
        heading, asked = _HEADING.match(line), _ASKED.match(line)
        if heading and len(heading.group(1)) == 1:
            title = heading.group(2)
        elif heading:
            parts.append((heading.group(2), [], []))
        elif asked:
            parts[-1][2].extend(q.strip() for q in asked.group(1).split("|") if q.strip())
        else:
            parts[-1][1].append(line)
    texts = [
        (section, re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), tuple(asked)) for section, lines, asked in parts
    ]
    intro = texts[0][1]
    sections = [part for part in texts[1:] if part[1]]
    if not sections:
        return [KnowledgeChunk(source, title, None, intro, 0, texts[0][2])] if intro else []
    # The introduction sums the page up: it opens the first section instead of competing with every section.
    first_section, first_body, first_asked = sections[0]
    sections[0] = (first_section, f"{intro}\n\n{first_body}" if intro else first_body, first_asked)
    return [KnowledgeChunk(source, title, section, body, n, asked) for n, (section, body, asked) in enumerate(sections)]


def load_knowledge_base(directory: Path) -> list[KnowledgeChunk]:
    """Every chunk of every page in ``directory`` (sorted by file name); an absent directory is an empty base."""
    if not directory.is_dir():
        return []
    chunks: list[KnowledgeChunk] = []
    for path in sorted(directory.glob("*.md")):
        chunks.extend(parse_page(path.stem, path.read_text(encoding="utf-8")))
    return chunks
