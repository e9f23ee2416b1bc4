"""The catalog specialist's dialog policy: search, product details and questions, comparisons, similar products,
and the hand-over to the cart when the customer wants to buy what they are looking at.

Every price, option and stock fact in a reply is read from a tool result (search hits, product details, variant
resolution). A product the conversation has not looked up yet is looked up first; a name the customer uses is
turned into an id by a tool (``list_all_product_types``), never by the brain.

The catalog and cart specialists share the shopping dialog (``decide``): a customer moves from browsing to the cart
and back within a message or two, and the router keeps the specialist that asked the last question.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from shopkeep.llm.local.dialog import Dialog, Turn
from shopkeep.llm.local.policies import cart, support
from shopkeep.llm.local.policies._shop import (
    CART_KINDS,
    SHOWN,
    ProductRef,
    ShopTask,
    describing_text,
    focus,
    look_up_names,
    money,
    named_products,
    options_text,
    refs_in,
    shop_task,
    since,
    stock_text,
    task_turns,
)
from shopkeep.llm.local.policies.base import ADD, Call, Say, Step
from shopkeep.replies import reply

_NOT_OPTION_WORDS = frozenset({"no", "none", "with", "without", "and", "or", "the", "a", "in", "of", "one", "yes"})
MAX_MATCHES_SHOWN = 5
QUOTED_WORDS = 6
"""A search query of at most this many words is quoted back in the reply; a longer message is not echoed."""
WEAK_SIMILARITY = 0.4
"""Below this closeness in meaning, with no word of the query in a product's name and no filter understood, the
best hits are only the nearest of what the store has (a skateboard for "surfboards"): said so, not "found"."""


def decide(dialog: Dialog) -> Step:
    task = shop_task(dialog)
    if task is None:
        return support.decide(dialog)
    if task.kind in CART_KINDS:
        return cart.handle(dialog, task)
    return handle(dialog, task)


def handle(dialog: Dialog, task: ShopTask) -> Step:
    if task.kind == "search":
        return _search(dialog, task)
    if task.kind == "details":
        return _details(dialog, task)
    if task.kind == "compare":
        return _compare(dialog, task)
    if task.kind == "similar":
        return _similar(dialog, task)
    return support.knowledge(dialog, task.turn)


# search --------------------------------------------------------------------------------------------------------


def _search(dialog: Dialog, task: ShopTask) -> Step:
    query = task.turn.text.strip()
    event = since(dialog, "search_products", task.turn.index, query=query)
    if event is None:
        return Call("search_products", {"query": query})
    if not event.ok:
        return Say(dialog.reply("catalog.search_failed", reason=event.text.removeprefix("Error: ")))
    data: dict[str, Any] = event.data
    hits = data["hits"][:SHOWN]
    notes = [n for n in data.get("notes", []) if not n.startswith("Nothing in the catalog")]
    if not hits:
        return Say(_nothing_found(dialog, query, task.turn, data.get("notes", [])))
    understood = data.get("understood")
    read_as = (
        "" if understood in (None, "any product") else " " + dialog.reply("catalog.read_as", understood=understood)
    )
    listing = "\n".join(f"{n}. {hit_text(hit, dialog.currency, reason=True)}" for n, hit in enumerate(hits, 1))
    noted = (" " + " ".join(_sentence(n) for n in notes)) if notes else ""
    offer = dialog.reply("catalog.details_offer")
    if not read_as and _only_weak_matches(hits):
        if _echoed(query):
            closest = dialog.reply("catalog.closest", query=query)
        else:
            closest = dialog.reply("catalog.closest_to_that")
        return Say(f"{closest}{noted}\n{listing}\n{offer}")
    for_query = " " + dialog.reply("catalog.for_query", query=query) if _echoed(query) else ""
    found = dialog.reply("catalog.found", for_query=for_query, read_as=read_as)
    return Say(f"{found}{noted}\n{listing}\n{offer}")


def _echoed(query: str) -> bool:
    """A short query is quoted back in the reply; a whole sentence is not echoed."""
    return len(query.split()) <= QUOTED_WORDS


def _only_weak_matches(hits: list[dict[str, Any]]) -> bool:
    """No hit is named like the query and none is close in meaning (see ``WEAK_SIMILARITY``)."""
    named = any("name matches" in str(hit.get("reason", "")) for hit in hits)
    closest = max((float(hit.get("similarity") or 0.0) for hit in hits), default=0.0)
    return not named and closest < WEAK_SIMILARITY


def _nothing_found(dialog: Dialog, query: str, turn: Turn, notes: list[str]) -> str:
    products = named_products(turn)
    constrained = any(e.type in ("option", "price_range", "money") for e in turn.nlu.entities)
    if products and constrained:
        hint = dialog.reply("catalog.hint_without_limits", product=products[0].lower())
    elif products:
        hint = dialog.reply("catalog.hint_general_word")
    else:
        hint = dialog.reply("catalog.hint_kind")
    noted = " ".join(_sentence(n) for n in notes)
    if _echoed(query):
        text = dialog.reply("catalog.nothing_found", query=query, notes=noted, hint=hint)
    else:
        text = dialog.reply("catalog.nothing_found_for_that", notes=noted, hint=hint)
    return text.replace("  ", " ")  # no notes: no gap where they would be


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def hit_text(hit: dict[str, Any], currency: str, *, reason: bool) -> str:
    """One search (or similar-products) hit: name, options of an item, price or price range, stock, and why."""
    name = str(hit["name"])
    if hit.get("item_id") and hit.get("options"):
        name += f" ({options_text(hit['options'])})"
    if hit.get("price") is None:
        price = reply("catalog.price_not_listed")
    elif hit.get("price_max") is not None and Decimal(str(hit["price_max"])) != Decimal(str(hit["price"])):
        price = reply("catalog.price_range", low=money(hit["price"], currency), high=money(hit["price_max"], currency))
    else:
        price = money(hit["price"], currency)
    why = f" ({_short_reason(str(hit['reason']))})" if reason and hit.get("reason") else ""
    return reply("catalog.hit", name=name, price=price, stock=stock_text(bool(hit.get("available")))) + why


def _short_reason(reason: str) -> str:
    """The search's own reason, without the similarity score when a more telling reason is there."""
    parts = [p.strip() for p in reason.split(";") if p.strip()]
    telling = [p for p in parts if not p.startswith("close in meaning")]
    return "; ".join((telling or parts)[:2])


# product details -----------------------------------------------------------------------------------------------


def _target(dialog: Dialog, task: ShopTask) -> ProductRef | Step | None:
    """The product a question is about: named or pointed at in the task's messages (newest first), else the one
    the conversation was about. A name without an id yet is looked up first."""
    for turn in reversed(task_turns(dialog, task)):
        refs, unknown = refs_in(dialog, turn)
        if refs:
            return refs[0]
        if unknown:
            return look_up_names(dialog, unknown) or Say(dialog.reply("catalog.unknown_product", name=unknown[0]))
    return focus(dialog, task.turn.index)


def product_data(dialog: Dialog, product_id: str) -> dict[str, Any] | Step:
    """The product's details from the conversation, or the lookup that gets them."""
    known = dialog.product(product_id)
    if known is not None:
        return known
    tried = dialog.tried("get_product_details", product_id=product_id)
    if tried is None:
        return Call("get_product_details", {"product_id": product_id})
    return Say(dialog.reply("catalog.lookup_failed", reason=tried.text.removeprefix("Error: ")))


def _asks_about_options(dialog: Dialog, task: ShopTask) -> bool:
    return any(e.type in ("option", "price_range") for t in task_turns(dialog, task) for e in t.nlu.entities)


def _details(dialog: Dialog, task: ShopTask) -> Step:
    target = _target(dialog, task)
    if target is None:
        return Say(dialog.reply("catalog.which_product"))
    if not isinstance(target, ProductRef):
        return target
    product = product_data(dialog, target.product_id)
    if not isinstance(product, dict):
        return product
    asks = _asks_about_options(dialog, task) or _names_options_of(product, task.turn)
    if target.item_id and target.item_id in product["variants"] and not asks:
        variant = product["variants"][target.item_id]
        return Say(_item_text(dialog, product, variant), expects=ADD if variant["available"] else None)
    if asks:
        return variant_answer(dialog, target, product, dialog.turns[-1].index)
    return Say(dialog.reply("catalog.ask_options", summary=summary(product, dialog.currency)))


def _names_options_of(product: dict[str, Any], turn: Turn) -> bool:
    """The message names a word of one of this product's option values ("is the 1.5L *glass* one in stock?"): the
    entity extractor reads option words only next to a product name, so a follow-up needs the product's own."""
    words = set(re.findall(r"[a-z0-9.]+", turn.text.lower())) - _NOT_OPTION_WORDS
    values = {
        word
        for variant in product["variants"].values()
        for value in variant["options"].values()
        for word in re.findall(r"[a-z0-9.]+", str(value).lower())
    }
    return bool(words & values)


def _item_text(dialog: Dialog, product: dict[str, Any], variant: dict[str, Any]) -> str:
    fields = {
        "product": product["name"],
        "options": options_text(variant["options"]),
        "price": money(variant["price"], dialog.currency),
    }
    if not variant["available"]:
        return dialog.reply("catalog.item_out_of_stock", **fields)
    return dialog.reply("catalog.item_in_stock", **fields)


def variant_answer(dialog: Dialog, ref: ProductRef, product: dict[str, Any], upto: int) -> Step:
    """Which item of the product the customer describes, from ``find_variant``: its price and stock, or the
    versions that still fit and the question that tells them apart."""
    description = describing_text(dialog, ref, upto) or ref.name
    event = dialog.tried("find_variant", product_id=ref.product_id, description=description)
    if event is None:
        return Call("find_variant", {"product_id": ref.product_id, "description": description})
    if not event.ok:
        return Say(dialog.reply("catalog.check_failed", reason=event.text.removeprefix("Error: ")))
    resolution: dict[str, Any] = event.data
    if resolution["status"] == "exact":
        return Say(dialog.reply("catalog.variant_found", message=resolution["message"]), expects=ADD)
    if resolution["status"] == "ambiguous":
        best = resolution["matches"][0]["score"]
        fitting = [m for m in resolution["matches"] if m["score"] == best][:MAX_MATCHES_SHOWN]
        listing = "; ".join(
            dialog.reply(
                "catalog.version",
                options=options_text(m["options"]),
                price=money(m["price"], dialog.currency),
                stock=stock_text(bool(m["available"])),
            )
            for m in fitting
        )
        return Say(
            dialog.reply(
                "catalog.several_versions", product=product["name"], versions=listing, message=resolution["message"]
            )
        )
    return Say(str(resolution["message"]))


def _in_stock_options(product: dict[str, Any]) -> str:
    variants = [v for v in product["variants"].values() if v["available"]]
    values: dict[str, list[str]] = {}
    for variant in variants:
        for key, value in variant["options"].items():
            if value not in values.setdefault(key, []):
                values[key].append(value)
    return "; ".join(f"{key}: {', '.join(vals)}" for key, vals in values.items())


def price_span(product: dict[str, Any]) -> tuple[Decimal, Decimal] | None:
    """The lowest and highest price of the product's in-stock items."""
    prices = [Decimal(str(v["price"])) for v in product["variants"].values() if v["available"]]
    return (min(prices), max(prices)) if prices else None


def summary(product: dict[str, Any], currency: str) -> str:
    """A product in one paragraph: in-stock items, their price range, and the options they come in."""
    variants = list(product["variants"].values())
    span = price_span(product)
    if span is None:
        return reply("catalog.none_in_stock", count=len(variants), product=product["name"])
    in_stock = sum(1 for v in variants if v["available"])
    low, high = span
    prices = (
        money(low, currency)
        if low == high
        else reply("catalog.price_range", low=money(low, currency), high=money(high, currency))
    )
    return reply(
        "catalog.summary",
        product=product["name"],
        in_stock=in_stock,
        count=len(variants),
        prices=prices,
        options=_in_stock_options(product),
    )


# comparing -----------------------------------------------------------------------------------------------------


def _compare(dialog: Dialog, task: ShopTask) -> Step:
    refs: list[ProductRef] = []
    for turn in task_turns(dialog, task):
        found, unknown = refs_in(dialog, turn)
        if unknown:
            step = look_up_names(dialog, unknown)
            if step is not None:
                return step
        refs += [r for r in found if all(r.product_id != o.product_id for o in refs)]
    if len(refs) == 1 and (other := focus(dialog, task.turn.index)) and other.product_id != refs[0].product_id:
        refs.insert(0, other)
    if len(refs) < 2:
        return Say(dialog.reply("catalog.which_two"))
    products: list[dict[str, Any]] = []
    for ref in refs[:2]:
        product = product_data(dialog, ref.product_id)
        if not isinstance(product, dict):
            return product
        products.append(product)
    parts = [_ref_summary(ref, p, dialog.currency) for ref, p in zip(refs[:2], products, strict=True)]
    spans = [(span[0], p["name"]) for p in products if (span := price_span(p))]
    if len(spans) == 2 and spans[0][0] != spans[1][0]:
        cheaper = min(spans)[1]
        parts.append(dialog.reply("catalog.cheaper", product=cheaper))
    return Say(" ".join([*parts, dialog.reply("catalog.details_offer")]))


def _ref_summary(ref: ProductRef, product: dict[str, Any], currency: str) -> str:
    """The item a reference pinned (a variant-level search hit), or the whole product."""
    variant = product["variants"].get(ref.item_id) if ref.item_id else None
    if variant is None:
        return summary(product, currency)
    return reply(
        "catalog.item_summary",
        product=product["name"],
        options=options_text(variant["options"]),
        price=money(variant["price"], currency),
        stock=stock_text(bool(variant["available"])),
    )


# similar products ----------------------------------------------------------------------------------------------


def _similar(dialog: Dialog, task: ShopTask) -> Step:
    target = _target(dialog, task)
    if target is None:
        return Say(dialog.reply("catalog.which_alternatives"))
    if not isinstance(target, ProductRef):
        return target
    item = target.item_id or target.product_id
    event = since(dialog, "recommend_similar", task.turn.index, item_id=item)
    if event is None:
        return Call("recommend_similar", {"item_id": item})
    if not event.ok:
        return Say(dialog.reply("catalog.similar_failed", reason=event.text.removeprefix("Error: ")))
    hits = event.data["products"][:SHOWN]
    if not hits:
        return Say(dialog.reply("catalog.no_similar", product=target.name))
    listing = "\n".join(f"{n}. {hit_text(hit, dialog.currency, reason=False)}" for n, hit in enumerate(hits, 1))
    similar = dialog.reply("catalog.similar", product=target.name)
    return Say(f"{similar}\n{listing}\n{dialog.reply('catalog.details_offer')}")
