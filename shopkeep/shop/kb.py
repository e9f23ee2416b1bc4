"""``shopkeep kb import``: a shop's own help pages, Markdown files in the format of ``data/kb``.

Each ``*.md`` file of the directory is one page; its id (what replies cite) is the file's stem. A page is ``# Title``,
an introduction and ``## Section`` parts (see ``retrieval.knowledge``); the ``<!-- asked: ... -->`` lines are
optional: a section without them is still found by its own words and meaning. Every page is read and checked before
any is written, then all are written in one transaction; ``replace`` also removes the pages the directory lacks.
Once a shop has pages of its own, search answers from them, never from the demo's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shopkeep.domain.shop import HelpPage
from shopkeep.errors import ImportRowError, ShopDataError
from shopkeep.retrieval.knowledge import parse_page
from shopkeep.store.base import CommerceStore
from shopkeep.store.shop import shop_records

_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class KnowledgeImport:
    pages: int
    sections: int
    added: int
    updated: int
    unchanged: int
    removed: int


def read_help_pages(directory: Path) -> list[HelpPage]:
    """Every page of a directory, checked: readable UTF-8 Markdown with some text, and a usable id."""
    if not directory.is_dir():
        raise ShopDataError(f"no such directory: {directory}")
    files = sorted(directory.glob("*.md"))
    if not files:
        raise ShopDataError(f"{directory} holds no Markdown pages (*.md)")
    pages = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            raise ImportRowError(str(path), line, "the text", "is not UTF-8") from None
        if not _SOURCE.match(path.stem):
            raise ImportRowError(str(path), 1, "the file name", "is not a page id (letters, digits, - _ .)")
        if not parse_page(path.stem, text):
            raise ImportRowError(str(path), 1, "the page", "has no text")
        pages.append(HelpPage(source=path.stem, markdown=text))
    return pages


def import_help_pages(store: CommerceStore, directory: Path, *, replace: bool = False) -> KnowledgeImport:
    """Read the directory's pages, then store them in one transaction (see the module doc)."""
    pages = read_help_pages(directory)
    sections = sum(len(parse_page(page.source, page.markdown)) for page in pages)
    with store.session(write=True) as session:
        counts = shop_records(session).save_help_pages(pages, replace=replace)
    return KnowledgeImport(pages=len(pages), sections=sections, **counts)
