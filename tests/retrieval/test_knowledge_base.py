"""The knowledge base in ``data/kb``: chunked by section, every labelled answer exists as a chunk."""

from __future__ import annotations

import json

from shopkeep.evals.retrieval import EVAL_DIR
from shopkeep.retrieval.indexer import knowledge_documents
from shopkeep.retrieval.knowledge import load_knowledge_base, parse_page, section_key
from tests.conftest import DATA_DIR

PAGE = """# Gift Cards

Gift cards are digital cards.

## Buying a gift card

Sold on the Gift cards page.

More about buying.

## Checking your balance ##
<!-- asked: how much is left on my card | whats my giftcard balance -->

Ask the assistant.
"""


def test_a_page_becomes_one_chunk_per_section_with_the_introduction_leading() -> None:
    chunks = parse_page("gift-cards", PAGE)
    assert [(c.source, c.title, c.section) for c in chunks] == [
        ("gift-cards", "Gift Cards", "Buying a gift card"),
        ("gift-cards", "Gift Cards", "Checking your balance"),
    ]
    assert chunks[0].text == "Gift cards are digital cards.\n\nSold on the Gift cards page.\n\nMore about buying."
    assert chunks[1].document == "Gift Cards: Checking your balance\n\nAsk the assistant."
    assert chunks[1].passage == "Checking your balance\n\nAsk the assistant."
    assert chunks[1].asked == ("how much is left on my card", "whats my giftcard balance")
    assert chunks[0].asked == ()
    assert [c.key for c in chunks] == ["kb:gift-cards#0", "kb:gift-cards#1"]


def test_pages_without_sections_or_title_still_index() -> None:
    (chunk,) = parse_page("plain-page", "Just some text.\n")
    assert (chunk.title, chunk.section, chunk.text) == ("Plain page", None, "Just some text.")
    assert parse_page("empty", "# Empty\n\n") == []


def test_the_demo_knowledge_base_has_every_labelled_answer() -> None:
    chunks = load_knowledge_base(DATA_DIR / "kb")
    sources = {c.source for c in chunks}
    assert len(sources) >= 25
    sections = {(c.source, c.section) for c in chunks}
    labelled = [json.loads(line) for line in (EVAL_DIR / "knowledge.jsonl").read_text().splitlines() if line.strip()]
    assert len(labelled) >= 60
    missing = [(q["source"], q["section"]) for q in labelled if (q["source"], q["section"]) not in sections]
    assert missing == []


def test_every_demo_section_says_how_customers_ask_for_it() -> None:
    """Questions worded unlike a heading find their section through its ``asked`` lines; none is ever quoted."""
    chunks = load_knowledge_base(DATA_DIR / "kb")
    assert [c.key for c in chunks if len(c.asked) < 3] == []
    assert not any("<!--" in c.passage or "<!--" in c.document for c in chunks)
    docs = knowledge_documents(chunks)
    assert len(docs) == len(chunks) + sum(len(c.asked) for c in chunks)
    assert {section_key(doc.key) for doc in docs} == {c.key for c in chunks}
