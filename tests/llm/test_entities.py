"""Entity extraction: a table of phrasings per type, τ² customer phrasings, and false positives that must not fire."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopkeep.llm.local.entities import Entity, EntityExtractor

D = Decimal

# (text, expected entities as (type, value) or (type, value, key)); each must be among the extracted ones.
CASES: list[tuple[str, list[tuple[Any, ...]]]] = [
    # email
    ("my email is Mia.Garcia2723@example.com", [("email", "mia.garcia2723@example.com")]),
    ("reach me at yusuf.rossi7301@example.com.", [("email", "yusuf.rossi7301@example.com")]),
    ("it's noah.brown7922@example.com and zip 80279", [("email", "noah.brown7922@example.com"), ("zip", "80279")]),
    # order ids
    ("cancel #W2378156", [("order_id", "#W2378156")]),
    ("order W4284542 please", [("order_id", "#W4284542")]),
    ("w8032761 hasn't arrived", [("order_id", "#W8032761")]),
    ("my order id is # W 237 8156", [("order_id", "#W2378156")]),
    ("the order is W-2378156", [("order_id", "#W2378156")]),
    ("order 9502126", [("order_id", "#W9502126")]),
    ("my order number is 9502127", [("order_id", "#W9502127")]),
    ("#W2378156 and #W4284542", [("order_id", "#W2378156"), ("order_id", "#W4284542")]),
    # user, item and product ids
    ("I'm mia_garcia_4516", [("user_id", "mia_garcia_4516")]),
    ("exchange it to item ID 4107812777", [("item_id", "4107812777")]),
    ("that's product id 1656367028", [("product_id", "1656367028")]),
    # zip codes
    ("zip code 19122", [("zip", "19122")]),
    ("my zipcode is 28236", [("zip", "28236")]),
    ("postal code: 78712", [("zip", "78712")]),
    ("I live in Denver CO 80239", [("zip", "80239")]),
    ("Denver, 80280", [("zip", "80280")]),
    ("living in Denver, USA, 80273", [("zip", "80273")]),
    ("residing in Philadelphia 19031", [("zip", "19031")]),
    ("I live in San Antonio 78260", [("zip", "78260")]),
    # person names
    ("I'm Yusuf Rossi", [("person_name", {"first_name": "Yusuf", "last_name": "Rossi"})]),
    ("my name is Fatima Johnson", [("person_name", {"first_name": "Fatima", "last_name": "Johnson"})]),
    ("this is Sofia Hernandez", [("person_name", {"first_name": "Sofia", "last_name": "Hernandez"})]),
    (
        "Hi, it's Mei Davis, zip 80217",
        [("person_name", {"first_name": "Mei", "last_name": "Davis"}), ("zip", "80217")],
    ),
    ("my name is john doe", [("person_name", {"first_name": "John", "last_name": "Doe"})]),
    ("I am Zelda Quartermaine", [("person_name", {"first_name": "Zelda", "last_name": "Quartermaine"})]),
    ("I'm Mei", [("person_name", {"first_name": "Mei", "last_name": None})]),
    ("Yusuf Rossi 19122", [("person_name", {"first_name": "Yusuf", "last_name": "Rossi"}), ("zip", "19122")]),
    ("yusuf rossi, 19122", [("person_name", {"first_name": "Yusuf", "last_name": "Rossi"}), ("zip", "19122")]),
    # products (typo-tolerant)
    ("I want a mechanical keybord", [("product", "Mechanical Keyboard")]),
    ("wireless earbuds", [("product", "Wireless Earbuds")]),
    ("a tshirt please", [("product", "T-Shirt")]),
    ("two t-shirts", [("product", "T-Shirt"), ("quantity", 2)]),
    ("the smart thermostat", [("product", "Smart Thermostat")]),
    ("my bike", [("product", "Bicycle")]),
    ("the e-reader", [("product", "E-Reader")]),
    ("the headphnes broke", [("product", "Headphones")]),
    ("the espresso machine", [("product", "Espresso Machine")]),
    ("return the cleaner", [("product", "Vacuum Cleaner")]),
    ("the air purifer", [("product", "Air Purifier")]),
    ("a luggage set", [("product", "Luggage Set")]),
    ("a bluetooth speaker", [("product", "Bluetooth Speaker")]),
    ("the dumbbells", [("product", "Dumbbell Set")]),
    # options, with their key
    ("clicky switches", [("option", "clicky", "switch type")]),
    ("compatible with Google Home", [("option", "Google Assistant", "compatibility")]),
    ("the Amazon Alexa one", [("option", "Amazon Alexa", "compatibility")]),
    ("size M t-shirt", [("option", "M", "size"), ("product", "T-Shirt")]),
    ("t-shirt in XL", [("option", "XL", "size")]),
    ("something blue", [("option", "blue", "color")]),
    ("a 13-inch laptop", [("option", "13-inch", "screen size")]),
    ("a laptop with 16GB and an i7", [("option", "16GB", "ram"), ("option", "i7", "processor")]),
    ("the 1000ml water bottle", [("option", "1000ml", "capacity")]),
    ("v-neck", [("option", "v-neck", "style")]),
    ("a keyboard with no backlight", [("option", "none", "backlight")]),
    ("waterproof hiking boots", [("option", "yes", "waterproof")]),
    ("the robotic vacuum", [("option", "robotic", "type")]),
    ("polarized sunglasses", [("option", "polarized", "lens type")]),
    ("hiking boots size 10", [("option", "10", "size")]),
    ("the 1000-piece jigsaw", [("option", "1000", "pieces")]),
    ("a stainless steel water bottle", [("option", "stainless steel", "material")]),
    ("a gray office chair", [("option", "gray", "color")]),
    ("a grey backpack", [("option", "grey", "color")]),
    ("medium backpack", [("option", "medium", "size")]),
    # quantities
    ("two tablets", [("quantity", 2)]),
    ("3x usb-c chargers", [("quantity", 3), ("option", "USB-C", "output")]),
    ("a pair of sunglasses", [("quantity", 2)]),
    ("add 2 of them", [("quantity", 2)]),
    ("qty: 4", [("quantity", 4)]),
    ("a dozen LED light bulbs", [("quantity", 12), ("product", "LED Light Bulb")]),
    # money and price ranges
    ("it was $49.99", [("money", D("49.99"))]),
    ("less than 200 bucks", [("price_range", {"min": None, "max": D("200.00")})]),
    ("under $50", [("price_range", {"min": None, "max": D("50.00")})]),
    ("under €50", [("price_range", {"min": None, "max": D("50.00")})]),
    ("no more than 80 euros", [("price_range", {"min": None, "max": D("80.00")})]),
    ("between £20 and £40", [("price_range", {"min": D("20.00"), "max": D("40.00")})]),
    ("between $100 and $200", [("price_range", {"min": D("100.00"), "max": D("200.00")})]),
    ("over $1,000", [("price_range", {"min": D("1000.00"), "max": None})]),
    ("$20-$40", [("price_range", {"min": D("20.00"), "max": D("40.00")})]),
    ("cheap keyboards under 150", [("price_range", {"min": None, "max": D("150.00")})]),
    # addresses
    (
        "1234 Elm St, Springfield, IL, 62701",
        [("address", {"address1": "1234 Elm St", "city": "Springfield", "state": "IL", "zip": "62701"})],
    ),
    (
        "445 Maple Drive, Suite 394, Fort Worth, Texas, 76165",
        [("address", {"address1": "445 Maple Drive", "address2": "Suite 394", "city": "Fort Worth", "state": "TX"})],
    ),
    ("101 Highway, New York, 10001", [("address", {"address1": "101 Highway", "city": "New York", "zip": "10001"})]),
    (
        "123 Main St, Apt 4, Springfield, IL 62704",
        [("address", {"address2": "Apt 4", "city": "Springfield", "state": "IL", "zip": "62704"})],
    ),
    ("send it to 55 Oak Avenue, Boston, MA 02108, thanks", [("address", {"city": "Boston", "zip": "02108"})]),
    # the country before the zip, and a lower-case line without commas
    (
        "1200 Maple Street Apt 4, Austin, TX, USA 78701",
        [("address", {"address2": "Apt 4", "city": "Austin", "state": "TX", "zip": "78701"})],
    ),
    (
        "new address is 45 birch road suite 2 charlotte nc usa 28203",
        [("address", {"address1": "45 birch road", "city": "charlotte", "state": "NC", "zip": "28203"})],
    ),
    ("12 Oak Street Portland Oregon US 97201", [("address", {"city": "Portland", "state": "OR", "zip": "97201"})]),
    # payment methods
    ("use my visa", [("payment_method", {"kind": "credit_card", "brand": "visa", "last_four": None})]),
    (
        "the mastercard ending 1234",
        [("payment_method", {"kind": "credit_card", "brand": "mastercard", "last_four": "1234"})],
    ),
    ("paypal please", [("payment_method", {"kind": "paypal"})]),
    ("put it on the gift card", [("payment_method", {"kind": "gift_card"})]),
    ("my credit card", [("payment_method", {"kind": "credit_card", "brand": None})]),
    ("refund to my amex credit card", [("payment_method", {"kind": "credit_card", "brand": "amex"})]),
    ("the card ending in 9212", [("payment_method", {"kind": "credit_card", "last_four": "9212"})]),
    ("refund to GC", [("payment_method", {"kind": "gift_card"})]),
    ("to the original payment method", [("payment_method", {"kind": "original"})]),
    # cancellation reasons
    ("I no longer need it", [("cancel_reason", "no longer needed")]),
    ("I ordered it by mistake", [("cancel_reason", "ordered by mistake")]),
    ("bought it by accident", [("cancel_reason", "ordered by mistake")]),
    ("I accidentally ordered two", [("cancel_reason", "ordered by mistake")]),
    ("I don't need them anymore", [("cancel_reason", "no longer needed")]),
    # yes / no
    ("yes", [("yes_no", "yes")]),
    ("Yes, cancel it", [("yes_no", "yes")]),
    ("no thanks", [("yes_no", "no")]),
    ("nope", [("yes_no", "no")]),
    ("ok go ahead", [("yes_no", "yes")]),
    ("y", [("yes_no", "yes")]),
]


def _matches(entity: Entity, expected: tuple[Any, ...]) -> bool:
    kind, value, *key = expected
    if entity.type != kind:
        return False
    if key and entity.key != key[0]:
        return False
    if isinstance(value, dict) and isinstance(entity.value, dict):
        return all(entity.value.get(k) == v for k, v in value.items())
    return bool(entity.value == value)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_entity_table(extractor: EntityExtractor, text: str, expected: list[tuple[Any, ...]]) -> None:
    entities = extractor.extract(text)
    for wanted in expected:
        assert any(_matches(e, wanted) for e in entities), (wanted, [e.as_record() for e in entities])
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 80


# Words that look like entities but are not: none of these types may be extracted.
NO_FALSE_POSITIVES: list[tuple[str, set[str]]] = [
    ("I'm looking for a gift", {"person_name", "option"}),
    ("I'm not sure", {"person_name", "option"}),
    ("I'm in a hurry", {"person_name"}),
    ("this is ridiculous", {"person_name"}),
    ("It's a pro level question", {"option"}),
    ("I have no idea", {"yes_no"}),
    ("I have 2 orders on the way", {"address", "quantity"}),
    ("call me at 5 pm", {"person_name", "quantity"}),
    ("I watch a lot of TV", {"product"}),
    ("I want to watch my order status", {"product"}),
    ("it costs 12345 points", {"zip"}),
    ("Invoice 12345 is wrong", {"zip"}),
    ("Model 55555 please", {"zip"}),
    ("the light is too dim", {"option"}),
    ("a large order", {"option"}),
    ("it arrives in 5 days", {"quantity", "zip"}),
    ("Can I return it?", {"person_name"}),
    ("Good Morning", {"person_name"}),
    ("New York 10001 is where I live", {"person_name"}),
    ("I bought it in March 2023", {"zip", "quantity"}),
    ("the keyboard has a backlight", {"option"}),
    ("my house is big", {"product"}),
    ("what's the status", {"yes_no", "option"}),
    ("Sure thing, I know", {"person_name"}),
    ("order #W2378156", {"zip", "quantity", "money"}),
    ("the card was declined", {"payment_method"}),
    ("I'm Looking For Help", {"person_name"}),
    ("size matters to me", {"option"}),
    ("I need it in 3 weeks", {"quantity"}),
    ("give me one second", {"quantity"}),
]


@pytest.mark.parametrize(("text", "forbidden"), NO_FALSE_POSITIVES, ids=[c[0] for c in NO_FALSE_POSITIVES])
def test_no_false_positives(extractor: EntityExtractor, text: str, forbidden: set[str]) -> None:
    found = [e.as_record() for e in extractor.extract(text) if e.type in forbidden]
    assert found == []


def test_overlaps_resolved_longest_wins(extractor: EntityExtractor) -> None:
    entities = extractor.extract("ship to 1234 Elm St, Springfield, IL, 62701 and I no longer need the fleece jacket")
    kinds = [e.type for e in entities]
    assert "zip" not in kinds  # inside the address
    assert ("product", "Fleece Jacket") in [(e.type, e.value) for e in entities]  # not the "fleece" option
    spans = sorted((e.start, e.end) for e in entities)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_options_follow_the_product_in_view(extractor: EntityExtractor) -> None:
    """A bare everyday word is an option only for a product that has it (here or from earlier turns)."""
    assert not [e for e in extractor.extract("the medium one") if e.type == "option"]
    options = [
        e for e in extractor.extract("the medium one", context_products=["Cycling Helmet"]) if e.type == "option"
    ]
    assert [(e.key, e.value) for e in options] == [("size", "M")]


def test_ambiguous_product_lists_alternatives(extractor: EntityExtractor) -> None:
    (kettle,) = [e for e in extractor.extract("the kettle") if e.type == "product"]
    assert {kettle.value, *kettle.alternatives} == {"Electric Kettle", "Tea Kettle"}


def test_huge_input_is_clipped(extractor: EntityExtractor) -> None:
    entities = extractor.extract("cancel #W2378156 " + "blah " * 5000)
    assert [e.value for e in entities if e.type == "order_id"] == ["#W2378156"]


def test_records_are_json_ready(extractor: EntityExtractor) -> None:
    (money,) = [e for e in extractor.extract("under $50") if e.type == "price_range"]
    assert money.as_record() == {
        "type": "price_range",
        "value": {"min": None, "max": 50.0},
        "start": 0,
        "end": 9,
        "text": "under $50",
    }


# ---------------------------------------------------------------------------------------- τ² customer phrasings

_FIRST_PERSON = [
    (r"\bYou name is\b", "My name is"),
    (r"\bYour name is\b", "My name is"),
    (r"\bYou are\b", "I am"),
    (r"\byou live\b", "I live"),
    (r"\byour\b", "my"),
    (r"\bYour\b", "My"),
    (r"\byou\b", "I"),
]


def _first_person(text: str) -> str:
    """How the oracle user says the task's known info: "You are Yusuf Rossi" -> "I am Yusuf Rossi"."""
    for pattern, replacement in _FIRST_PERSON:
        text = re.sub(pattern, replacement, text)
    return text


def test_tau2_identities(extractor: EntityExtractor, tau2_tasks: list[dict[str, Any]]) -> None:
    """Every email, and every name + zip a task's known info states, is read as the task's lookup expects."""
    checked = 0
    for task in tau2_tasks:
        said = _first_person(task["user_scenario"]["instructions"]["known_info"])
        entities = extractor.extract(said)
        for action in task["evaluation_criteria"]["actions"]:
            args = action["arguments"]
            if action["name"] == "find_user_id_by_email":
                assert args["email"] in [e.value for e in entities if e.type == "email"], said
                checked += 1
            elif action["name"] == "find_user_id_by_name_zip" and args["first_name"] + " " in said:
                names = [e.value for e in entities if e.type == "person_name" and isinstance(e.value, dict)]
                zips = [e.value for e in entities if e.type == "zip"]
                zips += [e.value["zip"] for e in entities if e.type == "address" and isinstance(e.value, dict)]
                if args["last_name"] in said:
                    assert {"first_name": args["first_name"], "last_name": args["last_name"]} in names, said
                if args["zip"] in said:
                    assert args["zip"] in zips, said
                checked += 1
    assert checked >= 30


def test_tau2_order_ids_and_products(extractor: EntityExtractor, tau2_tasks: list[dict[str, Any]]) -> None:
    """Order ids in the reasons for calling are read; so are the catalog products they name by their names."""
    products = {
        "mechanical keyboard",
        "smart thermostat",
        "water bottle",
        "desk lamp",
        "pet bed",
        "office chair",
        "air purifier",
        "vacuum cleaner",
        "luggage set",
        "fleece jacket",
        "skateboard",
        "garden hose",
        "backpack",
        "tablet",
        "laptop",
        "bluetooth speaker",
        "digital camera",
        "hiking boots",
        "grill",
    }
    ids = products_seen = 0
    for task in tau2_tasks:
        reason = task["user_scenario"]["instructions"]["reason_for_call"]
        entities = extractor.extract(reason)
        for order_id in set(re.findall(r"#W\d{7}", reason)):
            assert order_id in [e.value for e in entities if e.type == "order_id"], reason
            ids += 1
        named = {str(e.value).lower() for e in entities if e.type == "product"}
        for product in products:
            if re.search(rf"\b{product}\b", reason, re.IGNORECASE):
                assert product in named, (product, reason)
                products_seen += 1
    assert ids >= 10
    assert products_seen >= 40


def test_tau2_cancel_reasons(extractor: EntityExtractor, tau2_tasks: list[dict[str, Any]]) -> None:
    """Where a task's reason for calling words the cancellation reason, it is read as the action's reason."""
    seen = 0
    for task in tau2_tasks:
        reason = task["user_scenario"]["instructions"]["reason_for_call"]
        reasons = {e.value for e in extractor.extract(reason) if e.type == "cancel_reason"}
        for action in task["evaluation_criteria"]["actions"]:
            if action["name"] == "cancel_pending_order":
                wanted = action["arguments"]["reason"]
                if wanted.split()[-1] in reason or ("by mistake" in reason and wanted == "ordered by mistake"):
                    assert wanted in reasons, reason
                    seen += 1
    assert seen >= 3


_WORDS = (
    "W2378156 # $ 12345 Yusuf Rossi St, IL size M visa ending 1234 no yes under between and 2 x t-shirt keybord @ "
    ".com I'm Apt"
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(max_size=12), st.sampled_from(_WORDS.split(" "))), max_size=25).map(" ".join))
def test_extract_never_fails_and_spans_are_sound(extractor: EntityExtractor, text: str) -> None:
    entities = extractor.extract(text)
    previous_end = 0
    for entity in entities:
        assert previous_end <= entity.start < entity.end <= len(text)
        assert text[entity.start : entity.end] == entity.text
        previous_end = entity.end
