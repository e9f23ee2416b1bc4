"""A shop of its own answers customers with its own products and pages only: a conversation through the real service
and local brain, on a new shop built from the sample files, never names a product, item or help page of the demo."""

from __future__ import annotations

import re
from pathlib import Path

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.domain.shop import DEMO_SHOP_NAME
from shopkeep.evals.scenarios import SCENARIOS_DIR, build_shop
from shopkeep.llm.local.nlu import NLU
from shopkeep.retrieval.embedders import LocalEmbedder
from shopkeep.retrieval.knowledge import load_knowledge_base
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.settings import Settings
from shopkeep.store import open_store
from shopkeep.store.seed import StoreData
from tests.conftest import DATA_DIR

# Everything a customer of any shop might ask: the demo's own product words included, and its help pages' topics.
MESSAGES = [
    "hi, what can you do?",
    "do you have t-shirts?",
    "I need a laptop with 16GB of RAM",
    "show me headphones under $100",
    "do you sell kettles?",
    "something to boil water",
    "a gift for my dad under $50",
    "what's your return policy?",
    "how long does shipping take?",
    "do you do price matching?",
    "how do gift cards work?",
    "tell me about the warranty",
    "is the storm lantern in stock?",
    "what's in my cart?",
]


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def test_a_new_shops_answers_contain_none_of_the_demo(tmp_path: Path, nlu: NLU, demo_data: StoreData) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'harbor.db'}")
    build_shop("harbor", store, SCENARIOS_DIR)
    # as the product builds search: with the demo's pages at hand, which a shop of its own must never get
    search = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb")
    search.index_documents()
    with store.session() as session:
        own = _words(" ".join(f"{p.name} {p.product_type or ''}" for p in session.list_products()))
    # the demo's product names that are not also words of this shop ("Water Bottle" is one of its types too)
    demo_names = {p.name for p in demo_data.products if _words(p.name) not in own}
    demo_ids = {p.product_id for p in demo_data.products} | {
        v.item_id for p in demo_data.products for v in p.variants.values()
    }
    own_pages = {"about", "care", "returns", "shipping"}
    demo_pages = [chunk for chunk in load_knowledge_base(DATA_DIR / "kb") if chunk.source not in own_pages]
    demo_titles = {chunk.title for chunk in demo_pages}
    demo_sources = {chunk.source for chunk in demo_pages}
    assert len(demo_names) > 40 and len(demo_titles) > 25  # the check has teeth

    replies: list[str] = []
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        service = build_service(Settings(var_dir=tmp_path), store, checkpointer, nlu=nlu, retrieval=search)
        conversation = service.start(channel="test")
        for text in MESSAGES:
            turn = service.send(conversation, text)
            replies.append(turn.reply)
            replies += [str(call.output) for call in turn.tool_calls if call.output is not None]  # product cards
    store.close()

    said = "\n".join(replies)
    for text in MESSAGES:  # the customer's own words, quoted back ("Here is what I found for ..."), are theirs
        said = said.replace(text, " ")
    assert "Storm Lantern" in said and "Harbor & Pine" in said  # it did answer, from this shop
    assert DEMO_SHOP_NAME not in said
    for name in sorted(demo_names):
        assert _words(name) not in _words(said), f"the demo's product {name!r} in: {said}"
    for found in re.findall(r"\b\d{10}\b", said):
        assert found not in demo_ids, f"the demo's product or item {found}"
    for title in sorted(demo_titles):
        assert title not in said, f"the demo's help page {title!r}"
    for source in re.findall(r"\(source: ([\w-]+)\)", said):
        assert source not in demo_sources, f"the demo's help page {source!r}"
