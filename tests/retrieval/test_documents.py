"""Search documents: every option value, the price and the stock are stated, uses only where true, nothing
invented; every alias names its product when parsed back."""

from __future__ import annotations

import re

import pytest

from shopkeep.domain import Product
from shopkeep.retrieval._terms import load_catalog_terms
from shopkeep.retrieval.documents import option_phrase, product_document, variant_document
from shopkeep.retrieval.query import QueryParser
from shopkeep.store.seed import StoreData

# Claims the data never makes; a document must not either.
BANNED = (
    "best",
    "durable",
    "premium",
    "perfect",
    "amazing",
    "great",
    "excellent",
    "luxury",
    "luxurious",
    "stylish",
    "comfortable",
    "high-quality",
    "high quality",
    "top-rated",
    "popular",
    "ultimate",
    "superior",
    "innovative",
    "sleek",
    "powerful",
)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[\w%+.-]+", text.lower()))


def test_every_product_has_terms(demo_data: StoreData) -> None:
    terms = load_catalog_terms()
    assert {product.name for product in demo_data.products} == set(terms.products)
    for name, product_terms in terms.products.items():
        assert product_terms.aliases, name
        assert product_terms.uses, name


def test_product_documents_state_every_value_the_price_and_the_stock(demo_data: StoreData) -> None:
    for product in demo_data.products:
        document = product_document(product)
        assert document.startswith(product.name)
        for variant in product.variants.values():
            for key, value in variant.options.items():
                assert f"{key}: " in document
                assert value in document, (product.name, value)
        prices = [variant.price for variant in product.variants.values()]
        assert f"${min(prices):,.2f}" in document
        assert f"${max(prices):,.2f}" in document
        in_stock = sum(variant.available for variant in product.variants.values())
        assert f"In stock: {in_stock} of {len(prices)} variants." in document


def test_variant_documents_state_every_option_the_price_and_the_stock(demo_data: StoreData) -> None:
    for product in demo_data.products:
        for variant in product.variants.values():
            document = variant_document(product, variant)
            for key, value in variant.options.items():
                assert f"{key}: {value}" in document
                assert option_phrase(key, value) in document
            assert f"${variant.price:,.2f}" in document
            assert ("In stock." if variant.available else "Out of stock.") in document


def test_documents_never_invent_claims(demo_data: StoreData) -> None:
    for product in demo_data.products:
        texts = [product_document(product)] + [variant_document(product, v) for v in product.variants.values()]
        for text in texts:
            words = f" {_words(text)} "
            for banned in BANNED:
                assert f" {banned} " not in words, (product.name, banned)


def test_conditional_uses_appear_only_where_true(demo_data: StoreData) -> None:
    purifier = next(product for product in demo_data.products if product.name == "Air Purifier")
    for variant in purifier.variants.values():
        mentions = "HEPA filter for allergies" in variant_document(purifier, variant)
        assert mentions == (variant.options["filter type"] == "HEPA")
    assert "HEPA filter for allergies" in product_document(purifier)
    no_hepa = purifier.model_copy(
        update={"variants": {i: v for i, v in purifier.variants.items() if v.options["filter type"] != "HEPA"}}
    )
    assert "HEPA" not in product_document(no_hepa).split("Options:")[0]


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("waterproof", "yes", "waterproof"),
        ("waterproof", "no", "not waterproof"),
        ("water resistance", "yes", "water resistant"),
        ("water resistance", "not resistant", "not water resistant"),
        ("backlight", "none", "no backlight"),
        ("switch type", "clicky", "clicky switch"),
        ("lens color", "green", "green lens"),
        ("size", "full size", "full size"),
        ("size", "XL", "size XL"),
        ("piece count", "2-piece", "2-piece"),
        ("ram", "32GB", "32GB ram"),
        ("gender", "men", "for men"),
    ],
)
def test_option_phrases(key: str, value: str, phrase: str) -> None:
    assert option_phrase(key, value) == phrase


def test_a_product_without_variants_still_has_a_document() -> None:
    document = product_document(Product(name="Gift Card", product_id="g1"))
    assert document == "Gift Card (gift card)."


def test_every_alias_parses_back_to_its_product(demo_data: StoreData) -> None:
    parser = QueryParser(demo_data.products)
    terms = load_catalog_terms()
    for product in demo_data.products:
        for alias in terms.products[product.name].aliases:
            assert product.product_id in parser.parse(alias).product_ids, (product.name, alias)
