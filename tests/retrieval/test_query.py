"""Query understanding on the demo catalog: table-driven parses, the labelled retrieval set (every labelled
variant survives the parsed filters), bad input that must never crash, and ``ParsedQuery.matches``."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from shopkeep.domain import Product, Variant
from shopkeep.retrieval.query import MAX_QUERY_CHARS, OptionConstraint, ParsedQuery, QueryParser, product_type_names
from shopkeep.settings import PROJECT_ROOT
from shopkeep.store.seed import StoreData

LABELLED = PROJECT_ROOT / "evals" / "retrieval" / "products.jsonl"
FILTER_KINDS = ("option", "price", "option_price", "availability")


@pytest.fixture(scope="module")
def parser(demo_data: StoreData) -> QueryParser:
    return QueryParser(demo_data.products)


@pytest.fixture(scope="module")
def names(demo_data: StoreData) -> dict[str, str]:
    return {product.product_id: product.name for product in demo_data.products}


def option(key: str | None, *values: str, negated: bool = False) -> OptionConstraint:
    return OptionConstraint(key=key, values=list(values), negated=negated)


# query -> the fields it must parse to (products by name, in any order; options exactly, in order)
PARSES: list[tuple[str, dict[str, Any]]] = [
    ("laptop", {"products": ["Laptop"], "options": [], "text": "laptop"}),
    ("labtop", {"products": ["Laptop"], "text": "laptop"}),
    ("mechanicl keybord", {"products": ["Mechanical Keyboard"], "text": "mechanical keyboard"}),
    ("bycicle", {"products": ["Bicycle"]}),
    ("kettle", {"products": ["Electric Kettle", "Tea Kettle"]}),
    ("notebook computer", {"products": ["Laptop"]}),
    ("notebook", {"products": ["Notebook"]}),
    ("t shrit", {"products": ["T-Shirt"]}),
    ("my house", {"products": [], "text": "my house"}),
    ("read novels on my commute", {"products": [], "options": []}),
    ("clicky mechanical keyboard with RGB", {"options": [option("switch type", "clicky"), option("backlight", "RGB")]}),
    ("clicky switches", {"products": ["Mechanical Keyboard"], "options": [option("switch type", "clicky")]}),
    ("tenkeyless keyboard", {"options": [option("size", "80%")]}),
    ("TKL keyboard with linear switches", {"options": [option("size", "80%"), option("switch type", "linear")]}),
    ("2XL cotton t-shirt", {"options": [option("size", "XXL"), option("material", "cotton")], "text": "t-shirt"}),
    ("blue t-shirt size M", {"options": [option("color", "blue"), option("size", "M")]}),
    ("extra large tee", {"products": ["T-Shirt"], "options": [option("size", "XL")]}),
    ("running shoes in size 10", {"products": ["Running Shoes"], "options": [option("size", "10")]}),
    ("water bottle 1 liter", {"options": [option("capacity", "1000ml")]}),
    ("1L electric kettle", {"products": ["Electric Kettle"], "options": [option("capacity", "1L")]}),
    ("tea kettle 1 liter", {"products": ["Tea Kettle"], "options": [option("capacity", "1 liter")]}),
    (
        "1000ml kettle",
        {"products": ["Electric Kettle", "Tea Kettle"], "options": [option("capacity", "1 liter", "1L")]},
    ),
    ("1.5 litre espresso machine", {"options": [option("capacity", "1.5L")]}),
    ("thermostat that works with Google Home", {"options": [option("compatibility", "Google Assistant")]}),
    ("Siri thermostat", {"options": [option("compatibility", "Apple HomeKit")]}),
    ("works with Alexa", {"products": ["Smart Thermostat"], "options": [option("compatibility", "Amazon Alexa")]}),
    ("gray backpack", {"options": [option("color", "grey")]}),
    ("grey office chair", {"options": [option("color", "gray")]}),
    ("space gray laptop", {"options": [option("color", "space grey")]}),
    ("waterproof hiking boots", {"options": [option("waterproof", "yes")]}),
    ("water resistant earbuds", {"options": [option("water resistance", "IPX4", "IPX7")]}),
    ("waterproof earbuds", {"options": [option("water resistance", "IPX7")]}),
    ("waterproof speaker", {"products": ["Bluetooth Speaker"], "options": [option("water resistance", "yes")]}),
    ("something waterproof", {"products": [], "options": [option(None, "IPX7", "yes")]}),
    ("water resistant", {"options": [option(None, "IPX4", "IPX7", "yes")]}),
    ("boots that are not waterproof", {"options": [option("waterproof", "no")]}),
    ("earbuds that aren't water resistant", {"options": [option("water resistance", "IPX4", "IPX7", negated=True)]}),
    ("polarized sunglasses", {"options": [option("lens type", "polarized")]}),
    ("non-polarized sunglasses", {"options": [option("lens type", "non-polarized")]}),
    ("keyboard without backlight", {"options": [option("backlight", "none")], "text": "keyboard"}),
    ("backlit keyboard", {"options": [option("backlight", "none", negated=True)]}),
    ("t-shirt, not red", {"options": [option("color", "red", negated=True)]}),
    ("red or blue t-shirt", {"options": [option("color", "blue", "red")]}),
    ("black sunglasses", {"options": [option(None, "black")]}),
    (
        "metal frame sunglasses with green lenses",
        {"options": [option("frame material", "metal"), option("lens color", "green")]},
    ),
    ("laptop with at least 16GB of RAM", {"options": [option("ram", "16GB", "32GB")], "text": "laptop"}),
    ("i7 or above laptop", {"options": [option("processor", "i7", "i9")]}),
    ("16GB laptop", {"options": [option("ram", "16GB")]}),
    ("backpack with a laptop compartment", {"products": ["Backpack"], "options": [option("compartment", "laptop")]}),
    ("camera backpack", {"products": ["Backpack"], "options": [option("compartment", "camera")]}),
    ("camera", {"products": ["Action Camera", "Digital Camera", "Indoor Security Camera"], "options": []}),
    ("wifi camera", {"products": ["Indoor Security Camera"], "options": [option("connectivity", "Wi-Fi")]}),
    ("french press", {"products": ["Coffee Maker"], "options": [option("type", "french press")], "text": ""}),
    (
        "drip coffee maker with built-in grinder",
        {"options": [option("type", "drip"), option("features", "built-in grinder")]},
    ),
    ("robot vacuum", {"products": ["Vacuum Cleaner"], "options": [option("type", "robotic")]}),
    (
        "woody cologne for men",
        {"products": ["Perfume"], "options": [option("scent family", "woody"), option("gender", "men")]},
    ),
    ("A4 notebook", {"options": [option("size", "A4")]}),
    ("6 foot wooden bookshelf", {"options": [option("height", "6 ft"), option("material", "wood")]}),
    (
        "laptop with 4K",
        {"products": ["Laptop"], "options": [], "notes": ["'4K' is not an option for Laptop, so it was ignored"]},
    ),
    ("laptops under $2500", {"products": ["Laptop"], "max": "2499.99", "min": None, "text": "laptops"}),
    ("less than 50 dollars", {"max": "49.99"}),
    ("below 50", {"max": "49.99"}),
    ("up to $50", {"max": "50.00"}),
    ("$100-$200", {"min": "100.00", "max": "200.00"}),
    ("between 100 and 200", {"min": "100.00", "max": "200.00"}),
    ("between $200 and $100", {"min": "100.00", "max": "200.00", "notes": ["read the price range as $100 to $200"]}),
    ("over $50", {"min": "50.01", "max": None}),
    ("more than 50 dollars", {"min": "50.01"}),
    ("candles under €20", {"max": "19.99"}),
    ("less than 30 euros", {"max": "29.99"}),
    ("£40 or less", {"max": "40.00"}),
    ("a 5 pounds bag of coffee", {"max": None, "min": None}),
    ("at least $50", {"min": "50.00"}),
    ("around $300", {"min": "270.00", "max": "330.00"}),
    ("headphones $300 or less", {"max": "300.00", "products": ["Headphones"]}),
    ("over $500 but under $100", {"min": None, "max": None}),
    ("laptop with more than 8 hours battery", {"min": None, "max": None}),
    ("cheapest tea kettle in stock", {"sort": "price_asc", "stock": True, "text": "tea kettle"}),
    ("most expensive espresso machine", {"sort": "price_desc", "products": ["Espresso Machine"]}),
    ("in-stock polarized sunglasses", {"stock": True, "options": [option("lens type", "polarized")]}),
    ("sneakers available to ship today", {"stock": True, "text": "sneakers"}),
    ("laptops that are not available", {"stock": False}),
    ("cheap laptop", {"min": None, "max": None, "notes": ["'cheap' is not a price, showing all prices"]}),
    ("affordable headphones", {"notes": ["'affordable' is not a price, showing all prices"]}),
]


def _check(parsed: ParsedQuery, expected: dict[str, Any], names: dict[str, str]) -> None:
    if "products" in expected:
        assert sorted(names[pid] for pid in parsed.product_ids) == sorted(expected["products"])
    if "options" in expected:
        assert parsed.options == expected["options"]
    if "text" in expected:
        assert parsed.text == expected["text"]
    for field, attribute in (("min", "min_price"), ("max", "max_price")):
        if field in expected:
            wanted = None if expected[field] is None else Decimal(expected[field])
            assert getattr(parsed, attribute) == wanted
    if "sort" in expected:
        assert parsed.sort == expected["sort"]
    if "stock" in expected:
        assert parsed.in_stock_only is expected["stock"]
    if "notes" in expected:
        assert parsed.notes == expected["notes"]


@pytest.mark.parametrize(("query", "expected"), PARSES, ids=[query for query, _ in PARSES])
def test_parse(parser: QueryParser, names: dict[str, str], query: str, expected: dict[str, Any]) -> None:
    _check(parser.parse(query), expected, names)


def test_a_positive_request_never_matches_a_negative_value(parser: QueryParser, demo_data: StoreData) -> None:
    negative = {"no", "none", "not resistant", "non-polarized"}
    for query in ("waterproof", "water resistant", "polarized", "backlit", "with armrests", "smart bulb"):
        parsed = parser.parse(query)
        for product in demo_data.products:
            for variant in product.variants.values():
                if parsed.options and parsed.matches(product, variant):
                    wanted = [c for c in parsed.options if not c.negated]
                    matched = {v for v in variant.options.values() if any(v in c.values for c in wanted)}
                    assert not matched & negative, (query, variant.options)


def test_labelled_filter_queries_keep_every_labelled_variant(parser: QueryParser, demo_data: StoreData) -> None:
    """For option, price and availability queries, the parsed filters keep every grade-3 labelled variant."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(product, variant) for product in demo_data.products for variant in product.variants.values()]
    products = {product.product_id: product for product in demo_data.products}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    misses: list[str] = []
    for row in rows:
        if row["kind"] not in FILTER_KINDS:
            continue
        parsed = parser.parse(row["query"])
        kept = {variant.item_id for product, variant in pairs if parsed.matches(product, variant)}
        labelled: set[str] = set()
        for judgment in row["judgments"]:
            if judgment["grade"] == 3:
                ids = judgment["item_ids"] or list(products[judgment["product_id"]].variants)
                labelled.update(ids)
        found = labelled & kept
        totals[row["kind"]][0] += len(labelled)
        totals[row["kind"]][1] += len(found)
        totals[row["kind"]][2] += len(kept)
        misses.extend(f"{row['id']} {row['query']!r}: {item}" for item in sorted(labelled - kept))
    labelled_total = sum(total[0] for total in totals.values())
    found_total = sum(total[1] for total in totals.values())
    kept_total = sum(total[2] for total in totals.values())
    for kind, (kind_labelled, kind_found, kind_kept) in sorted(totals.items()):
        recall, precision = kind_found / kind_labelled, kind_found / kind_kept
        print(f"{kind:>13}: recall {recall:.3f}, precision {precision:.3f} ({kind_labelled} labelled)")
    print(f"{'all':>13}: recall {found_total / labelled_total:.3f}, precision {found_total / kept_total:.3f}")
    assert found_total / labelled_total >= 0.95, misses
    assert not misses


# bad input ----------------------------------------------------------------------------------------------------

BAD_INPUT = [
    "",
    "   ",
    "\x00\x07\u200b",
    "😀🔥🛒",
    "laptop 💻 under $500 🙏",
    "ノートパソコン",
    "'; DROP TABLE products; --",
    "<script>alert(1)</script> keyboard",
    "$-5",
    "-$5 headphones",
    "under $-5",
    "$99999999999999999999999999999",
    "under $0",
    "cheap",
    "size",
    "no",
    "not",
    "$",
    "1e9",
    "between and",
    "🙂" * 3000,
    "laptop " * 1000,
    "x" * 5000,
]


@pytest.mark.parametrize("query", BAD_INPUT, ids=[repr(query[:30]) for query in BAD_INPUT])
def test_bad_input_never_crashes(parser: QueryParser, query: str) -> None:
    parsed = parser.parse(query)
    assert parsed.original == query
    assert len(parsed.text) <= MAX_QUERY_CHARS
    assert parsed.min_price is None or parsed.min_price >= 0
    assert parsed.max_price is None or parsed.max_price >= 0


def test_empty_query_reads_nothing(parser: QueryParser) -> None:
    parsed = parser.parse("")
    assert (parsed.text, parsed.product_ids, parsed.options, parsed.notes) == ("", [], [], [])


def test_long_query_is_shortened_with_a_note(parser: QueryParser) -> None:
    parsed = parser.parse("black laptop " * 400)
    assert len(parsed.original) == 5200
    assert parsed.notes == [f"the query was too long and was shortened to its first {MAX_QUERY_CHARS} characters"]
    assert parsed.options == [option("color", "black")]


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("$-5", "a price can't be negative ($-5)"),
        ("under $0", "no price is below $0, so the price limit was ignored"),
        ("$99999999999999999999", "$99999999999999999999 is too large to be a price"),
        ("cheap", "'cheap' is not a price, showing all prices"),
    ],
)
def test_invalid_prices_become_notes(parser: QueryParser, query: str, note: str) -> None:
    parsed = parser.parse(query)
    assert (parsed.min_price, parsed.max_price, parsed.notes) == (None, None, [note])


def test_emoji_and_markup_are_dropped_from_the_text(parser: QueryParser, names: dict[str, str]) -> None:
    parsed = parser.parse("laptop 💻 under $500 🙏")
    assert (parsed.text, [names[pid] for pid in parsed.product_ids], parsed.max_price) == (
        "laptop",
        ["Laptop"],
        Decimal("499.99"),
    )
    assert parser.parse("'; DROP TABLE products; --").text == "DROP TABLE products"


# matches ------------------------------------------------------------------------------------------------------


def _variant(options: dict[str, str], *, price: str = "10.00", available: bool = True) -> Variant:
    return Variant(item_id="1", options=options, available=available, price=Decimal(price))


def test_matches_applies_every_filter() -> None:
    product = Product(name="T-Shirt", product_id="p1")
    parsed = ParsedQuery(
        original="",
        text="",
        product_ids=["p1"],
        options=[option("color", "red", "blue"), option("size", "S", negated=True)],
        min_price=Decimal("5.00"),
        max_price=Decimal("20.00"),
        in_stock_only=True,
    )
    assert parsed.matches(product, _variant({"color": "red", "size": "M"}))
    assert not parsed.matches(product, _variant({"color": "red", "size": "S"}))
    assert not parsed.matches(product, _variant({"color": "green", "size": "M"}))
    assert not parsed.matches(product, _variant({"color": "red", "size": "M"}, price="20.01"))
    assert not parsed.matches(product, _variant({"color": "red", "size": "M"}, available=False))
    assert not parsed.matches(Product(name="T-Shirt", product_id="p2"), _variant({"color": "red", "size": "M"}))
    other = parsed.model_copy(update={"product_ids": ["p2"]})
    assert other.matches(Product(name="T-Shirt", product_id="p2"), _variant({"color": "red", "size": "M"}))


def test_a_constraint_without_key_matches_any_key() -> None:
    constraint = option(None, "black")
    assert constraint.accepts({"frame color": "silver", "lens color": "black"})
    assert not constraint.accepts({"frame color": "silver", "lens color": "green"})
    assert option(None, "black", negated=True).accepts({"frame color": "silver"})


def test_suffixed_product_names_share_their_type(demo_data: StoreData) -> None:
    """A large catalog repeats names with a numbering suffix ("Laptop 17"): they are one product type."""
    copies = [
        product.model_copy(update={"name": f"{product.name} {n}", "product_id": f"{product.product_id}-{n}"})
        for n in range(3)
        for product in demo_data.products
    ]
    parser = QueryParser(copies)
    assert len(parser.product_types()) == len(demo_data.products)
    parsed = parser.parse("clicky keyboard under $250")
    assert parsed.product_ids == [
        f"{next(p.product_id for p in demo_data.products if p.name == 'Mechanical Keyboard')}-{n}" for n in range(3)
    ]
    assert parsed.options == [option("switch type", "clicky")]


def test_documents_are_typed_as_the_parser_groups_them(demo_data: StoreData) -> None:
    """The indexer stores each product's type so a type filter is one value; it must be the parser's grouping."""
    copies = [
        product.model_copy(update={"name": f"{product.name} {suffix}", "product_id": f"{product.product_id}-{n}"})
        for n, suffix in enumerate(["17", "v2", "#3"])
        for product in demo_data.products
    ]
    catalog = [*demo_data.products, *copies]
    types = product_type_names(catalog)
    grouped: dict[str, list[str]] = {}
    for product in catalog:
        grouped.setdefault(types[product.product_id], []).append(product.product_id)
    assert grouped == QueryParser(catalog).product_types()
    assert len(grouped) == len(demo_data.products)
