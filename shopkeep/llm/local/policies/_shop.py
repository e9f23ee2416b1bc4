"""What the shopping policies (catalog, cart, checkout) read from a conversation: the shopping task the customer is
on, the products they mean (by name, by position in the last list shown, or from context), the cart as the last
cart tool returned it, and the few formatting rules their replies share.

Every fact comes from a tool result in the conversation; nothing here knows the catalog by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from shopkeep.domain.money import format_money
from shopkeep.llm.local.dialog import Dialog, ToolEvent, Turn
from shopkeep.llm.local.nlu import Entity
from shopkeep.llm.local.policies.base import ADD, Call
from shopkeep.replies import reply

Kind = Literal["search", "details", "compare", "similar", "add", "remove", "quantity", "view", "knowledge"]
CATALOG_KINDS: frozenset[Kind] = frozenset({"search", "details", "compare", "similar", "knowledge"})
CART_KINDS: frozenset[Kind] = frozenset({"add", "remove", "quantity", "view"})

KIND_OF_INTENT: dict[str, Kind] = {
    "search_products": "search",
    "product_question": "details",
    "add_to_cart": "add",
    "remove_from_cart": "remove",
    "view_cart": "view",
}
CART_TOOLS = ("view_cart", "add_to_cart", "update_cart_quantity", "remove_from_cart")
LISTING_TOOLS = ("search_products", "recommend_similar")
SHOWN = 5
"""How many hits a listing shows (ordinals like "the second one" refer to them)."""

NEW_TASK_CONFIDENCE = 0.6
NEW_TASK_WHILE_ANSWERING = 0.85
LEAVE_INTENTS = frozenset({"deny", "goodbye", "thanks"})
DESCRIBING_TURNS = 6
NOT_DESCRIBING = frozenset({"email", "person_name", "zip", "address", "user_id", "order_id", "payment_method"})
"""Who the customer is, where to ship and how to pay say nothing about a product's options: the brown of
emma.brown@... is no colour, and the 10 of a zip code no size."""

_ORDINAL_WORDS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
}
_ORDINAL = re.compile(
    r"\b(?P<word>first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th)\b(?!\s+(?:name|time|names))"
    r"|\b(?:number|no\.?|option|#)\s*(?P<number>[1-5])\b"
    r"|\bthe\s+(?P<last>last)\s+(?:one|result|option|item|product)\b",
    re.IGNORECASE,
)
SIMILAR = re.compile(
    r"\b(similar|alternatives?|something (?:else )?like|anything (?:else )?like|other options like|like (?:this|that|"
    r"it) but|comparable)\b",
    re.IGNORECASE,
)
COMPARE = re.compile(r"\b(compare|comparison|vs\.?|versus|difference|differences|differ|better|which (?:one )?is)\b")
DETAILS = re.compile(
    r"\b(tell me (?:more )?about|more about|details?|options?|specs?|colou?rs?|sizes?|in stock|available|"
    r"availability|how much|price of|what does|does (?:it|the)|is (?:it|the))\b",
    re.IGNORECASE,
)
POLICY_QUESTION = re.compile(
    r"\b(polic(?:y|ies)|returns?|refunds?|warranty|guarantee|shipping|deliver(?:y|ies)|price match(?:ing)?|"
    r"exchanges?|cancel(?:lation)?|promo(?:tion)?s?|coupons?|pay(?:ment)? (?:with|by|methods?)|gift cards?|"
    r"tax(?:es)?)\b",
    re.IGNORECASE,
)
CHANGE_QUANTITY = re.compile(
    r"\b(quantity|qty)\b|\bmake (?:it|that|them)\s+\d+\b|\b(?:change|set|update)\b.{0,40}\bto\s+\d+\b"
    r"|\bonly (?:want |need )?(?:\d+|one|two|three)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_QUANTITY_NUMBER = re.compile(
    r"\b(?:to|add|make it|make that|want|need|only|take|order|buy|get|purchase)\s+"
    r"(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine)\b"
    r"|\b(?P<m>\d{1,2})\s*(?:x|of|pieces?|units?|items?)\b",
    re.IGNORECASE,
)


# products ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductRef:
    """A product the customer means; ``item_id`` when the reference pins one item (a variant-level hit)."""

    product_id: str
    name: str
    item_id: str | None = None


def money(value: Any, currency: str) -> str:
    """An amount from a tool result, written in the shop's currency."""
    return format_money(value, currency)


def options_text(options: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in options.values())


def stock_text(available: bool) -> str:
    """In stock or not, in the words of ``data/replies/catalog.yaml``."""
    return reply("catalog.in_stock") if available else reply("catalog.out_of_stock")


def name_of(dialog: Dialog, product_id: str) -> str | None:
    return next((name for name, pid in titles_of(dialog).items() if pid == product_id), None)


def titles_of(dialog: Dialog) -> dict[str, str]:
    """Product name (as the catalog writes it) -> product id."""
    titles: dict[str, str] = {}
    for event in dialog.events:
        data = event.data
        if not event.ok or not isinstance(data, dict):
            continue
        if event.name == "list_all_product_types":
            titles.update({str(k): str(v) for k, v in data.items()})
        elif event.name in LISTING_TOOLS:
            titles.update(
                {str(h["name"]): str(h["product_id"]) for h in data.get("hits") or data.get("products") or []}
            )
        elif event.name == "get_product_details" and "product_id" in data:
            titles[str(data["name"])] = str(data["product_id"])
        elif event.name in CART_TOOLS:
            titles.update({str(line["name"]): str(line["product_id"]) for line in data.get("lines", [])})
    return titles


def listing_before(dialog: Dialog, index: int) -> list[dict[str, Any]]:
    """The hits of the last product list shown before message ``index`` (as many as the reply showed)."""
    for event in reversed(dialog.events):
        if event.index < index and event.ok and event.name in LISTING_TOOLS and isinstance(event.data, dict):
            hits = event.data.get("hits") or event.data.get("products") or []
            return list(hits[:SHOWN])
    return []


def ordinal(turn: Turn) -> int | None:
    """The position a message points at ("the second one" -> 2, "the last one" -> -1), if any."""
    found = ordinals(turn)
    return found[0] if found else None


def ordinals(turn: Turn) -> list[int]:
    """Every position a message points at, in order ("compare the first and the third" -> [1, 3])."""
    found = []
    for match in _ORDINAL.finditer(turn.text):
        if match.group("word"):
            found.append(_ORDINAL_WORDS[match.group("word").lower()])
        elif match.group("number"):
            found.append(int(match.group("number")))
        else:
            found.append(-1)
    return found


def pick(items: list[Any], position: int) -> Any | None:
    if position == -1:
        return items[-1] if items else None
    return items[position - 1] if 0 < position <= len(items) else None


def named_products(turn: Turn) -> list[str]:
    return [str(e.value) for e in turn.nlu.entities if e.type == "product"]


def refs_in(dialog: Dialog, turn: Turn) -> tuple[list[ProductRef], list[str]]:
    """The products a message names or points at, and the names no tool result has given an id yet."""
    titles = {name.lower(): (name, pid) for name, pid in titles_of(dialog).items()}
    refs: list[ProductRef] = []
    unknown: list[str] = []
    for name in named_products(turn):
        found = titles.get(name.lower())
        if found is None:
            unknown.append(name)
        elif all(r.product_id != found[1] for r in refs):
            refs.append(ProductRef(found[1], found[0]))
    for position in ordinals(turn):
        hit = pick(listing_before(dialog, turn.index), position)
        if hit is not None:
            refs.append(ProductRef(str(hit["product_id"]), str(hit["name"]), hit.get("item_id")))
    return refs, unknown


def look_up_names(dialog: Dialog, unknown: list[str]) -> Call | None:
    """Product names need ids: list the catalog's products once (names the store does not sell stay unknown)."""
    if unknown and dialog.tried("list_all_product_types") is None:
        return Call("list_all_product_types")
    return None


def focus(dialog: Dialog, before: int) -> ProductRef | None:
    """The product the conversation was about before message ``before``: the newest one named, pointed at,
    or looked up."""
    best: tuple[int, ProductRef] | None = None
    for turn in dialog.turns:
        if turn.index >= before:
            break
        refs, _ = refs_in(dialog, turn)
        if refs:
            best = (turn.index, refs[-1])
    for event in dialog.events:
        if (
            event.index >= before
            or not event.ok
            or not isinstance(event.data, dict)
            or (best and event.index < best[0])
        ):
            continue
        if event.name == "get_product_details" and "product_id" in event.data:
            product_id = str(event.data["product_id"])
            # looking up the product an ordinal pinned to one item keeps that item ("the second one" -> its item)
            item_id = best[1].item_id if best and best[1].product_id == product_id else None
            best = (event.index, ProductRef(product_id, str(event.data["name"]), item_id))
        elif event.name == "find_variant" and (name := name_of(dialog, str(event.data["product_id"]))):
            exact = event.data["matches"][0]["item_id"] if event.data["status"] == "exact" else None
            best = (event.index, ProductRef(str(event.data["product_id"]), name, exact))
    return best[1] if best else None


def describing_text(dialog: Dialog, ref: ProductRef, upto: int) -> str:
    """What the customer said about the options of one product, up to message ``upto``: the recent messages that
    name no other product, since the product came into view, with an option value replaced by a later one of the
    same option ("black ... actually red" reads as "red"). A budget stated for an earlier search that did not show
    the product is that search's, not this product's."""
    turns: list[Turn] = []
    start = _in_view_since(dialog, ref, upto)
    for turn in reversed([t for t in dialog.turns if start <= t.index <= upto]):
        refs, unknown = refs_in(dialog, turn)
        others = [r for r in refs if r.product_id != ref.product_id] + [n for n in unknown if n != ref.name]
        if others or len(turns) == DESCRIBING_TURNS:
            break
        turns.append(turn)
    turns.reverse()
    latest: dict[str, tuple[int, int]] = {}
    for turn in turns:
        for entity in _describing_options(turn):
            latest[str(entity.key)] = (turn.index, entity.start)
    pieces = []
    for turn in turns:
        options = _describing_options(turn)
        cuts = [(e.start, e.end) for e in turn.nlu.entities if e.type in NOT_DESCRIBING or e.type == "option"]
        kept = [(e.start, e.end) for e in options if latest[str(e.key)] == (turn.index, e.start)]
        pieces.append(cut(turn.text, [cut for cut in cuts if cut not in kept]).strip())
    return "\n".join(p for p in pieces if p)


def _describing_options(turn: Turn) -> list[Entity]:
    """The option values a message gives (not a word inside an email address or a street name)."""
    outside = [(e.start, e.end) for e in turn.nlu.entities if e.type in NOT_DESCRIBING]
    return [
        e
        for e in turn.nlu.entities
        if e.type == "option" and e.key and not any(s <= e.start and e.end <= t for s, t in outside)
    ]


def cut(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without these (possibly overlapping) spans."""
    kept, position = [], 0
    for start, end in sorted(spans):
        if start > position:
            kept.append(text[position:start])
        position = max(position, end)
    kept.append(text[position:])
    return "".join(kept)


def _in_view_since(dialog: Dialog, ref: ProductRef, upto: int) -> int:
    """The message from which the conversation is about ``ref``: the first turn that named or picked it, or the
    customer's turn before the first tool result that showed it (a listing, its details, a variant lookup)."""
    first = upto
    for turn in dialog.turns:
        if turn.index > upto:
            break
        refs, unknown = refs_in(dialog, turn)
        if any(r.product_id == ref.product_id for r in refs) or ref.name in unknown:
            first = turn.index
            break
    for event in dialog.events:
        if event.index >= first:
            break
        if event.ok and ref.product_id in _products_shown(event):
            return max((t.index for t in dialog.turns if t.index < event.index), default=first)
    return first


def _products_shown(event: ToolEvent) -> set[str]:
    data = event.data
    if not isinstance(data, dict):
        return set()
    if event.name in LISTING_TOOLS:
        return {str(hit.get("product_id")) for hit in (data.get("hits") or data.get("products") or [])[:SHOWN]}
    return {str(data["product_id"])} if "product_id" in data else set()


# events ------------------------------------------------------------------------------------------------------------


def since(dialog: Dialog, name: str, index: int, **args: Any) -> ToolEvent | None:
    """The newest call of a tool after message ``index`` with these arguments (ok or not)."""
    for event in reversed(dialog.events):
        if event.index <= index:
            return None
        if event.name == name and all(event.args.get(k) == v for k, v in args.items()):
            return event
    return None


def cart_since(dialog: Dialog, index: int) -> ToolEvent | None:
    """The cart as the newest successful cart tool after message ``index`` returned it."""
    for event in reversed(dialog.events):
        if event.index <= index:
            return None
        if event.ok and event.name in CART_TOOLS and isinstance(event.data, dict):
            return event
    return None


def describe_line(line: dict[str, Any]) -> str:
    options = options_text(line.get("options", {}))
    return f"{line['quantity']} x {line['name']}" + (f" ({options})" if options else "")


def cart_text(cart: dict[str, Any], currency: str) -> str:
    lines = cart.get("lines", [])
    if not lines:
        return reply("cart.empty")
    listing = "; ".join(
        reply("cart.line_price", line=describe_line(line), price=money(line["unit_price"], currency)) for line in lines
    )
    count = cart["item_count"]
    subtotal = money(cart["subtotal"], currency)
    if count == 1:
        return reply("cart.contents_one", lines=listing, subtotal=subtotal)
    return reply("cart.contents", lines=listing, subtotal=subtotal, count=count)


# the task ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopTask:
    kind: Kind
    turn: Turn


def shop_content(dialog: Dialog, turn: Turn) -> bool:
    """The message carries something a shopping flow can use (a product, an option, a quantity, a position)."""
    kinds = {e.type for e in turn.nlu.entities}
    found = bool(kinds & {"product", "option", "quantity", "price_range"}) or ordinal(turn) is not None
    return found or quantity_of([turn]) is not None


def leaves(dialog: Dialog, turn: Turn) -> bool:
    """ "No thanks", "bye": the customer is done with the flow (unless the message also answers it)."""
    nlu = turn.nlu
    return nlu.intent in LEAVE_INTENTS and nlu.confidence >= NEW_TASK_CONFIDENCE and not shop_content(dialog, turn)


def quantity_of(turns: list[Turn]) -> int | None:
    """The newest quantity the customer gave in these messages."""
    for turn in reversed(turns):
        found = [e.value for e in turn.nlu.entities if e.type == "quantity" and isinstance(e.value, int)]
        if found:
            return int(found[-1])
        match = _QUANTITY_NUMBER.search(turn.text)
        bare = turn.text.strip(" .!").lower()
        if match:
            word = (match.group("n") or match.group("m")).lower()
            return int(word) if word.isdigit() else _NUMBER_WORDS[word]
        if (bare.isdigit() and len(bare) <= 2) or bare in _NUMBER_WORDS:
            return int(bare) if bare.isdigit() else _NUMBER_WORDS[bare]
    return None


def _new_task(dialog: Dialog, turn: Turn) -> Kind | None:
    """The shopping task a message starts, if it starts one (a short answer to a question does not)."""
    nlu = turn.nlu
    kind = KIND_OF_INTENT.get(nlu.intent)
    if nlu.intent == "place_order" and named_products(turn):
        kind = "add"
    if takes(turn) and not turn.nlu.general_question:
        return "add"  # "I'll take the boots in size 10 and the yoga mat", whatever the classifier made of it
    if nlu.intent == "change_order" and CHANGE_QUANTITY.search(turn.text) and cart_since(dialog, -1):
        kind = "quantity"
    # "something similar to that one", "actually make it 2" read as nothing in particular to the classifier
    if kind is None and nlu.confidence < NEW_TASK_WHILE_ANSWERING:
        if SIMILAR.search(turn.text):
            return "similar"
        in_view = named_products(turn) or focus(dialog, turn.index)
        if DETAILS.search(turn.text) and not POLICY_QUESTION.search(turn.text) and in_view:
            return "details"  # "which sizes do they come in?" about the product just shown
        if CHANGE_QUANTITY.search(turn.text) and cart_since(dialog, -1):
            return "quantity"
    if kind in CART_KINDS and CHANGE_QUANTITY.search(turn.text) and cart_since(dialog, -1):
        return "quantity"  # "set the kettle to 3" with the kettle in the cart, however unsure the classifier
    if kind is None or nlu.confidence < NEW_TASK_CONFIDENCE:
        return None
    refined = _refine(dialog, turn, kind)
    hesitant = turn.answering and nlu.confidence < NEW_TASK_WHILE_ANSWERING
    # a hesitant reading of an answer that carries a product, an option or a number is the answer ("1000ml"); one
    # that carries none is a question of its own ("what colors does it come in?")
    if hesitant and refined not in ("compare", "similar") and shop_content(dialog, turn):
        return None
    return refined


TAKE = re.compile(
    r"\b(?:i'?ll|i will|we'?ll|i'?d|let me) (?:take|have|get|grab)\b(?! a look)|\b(?:add|put|throw in|toss in)\b"
    r"|\bgive me\b|\bget me\b|\bone of (?:those|these|them)\b",
    re.IGNORECASE,
)
"""Words that take products, as opposed to asking about them ("do you have...?", "tell me about...")."""


def takes(turn: Turn) -> bool:
    """The message takes the products it names: several named with a taking verb ("add the notebook and two kettles",
    "I'll take the boots in 10 and the pink yoga mat"), one with a taking verb and the item's options or a quantity,
    or one picked from the list shown ("I'll take the second one")."""
    products = turn.nlu.entities_of("product")
    if TAKE.search(turn.text) is None or COMPARE.search(turn.text.lower()):
        return False
    if not products:
        # "I'll take two of the first one"; "one of those please, the 1L glass silver one" after a list (but "is one
        # of those waterproof?" asks about them)
        described = bool(turn.nlu.entities_of("option")) and not turn.text.rstrip().endswith("?")
        return ordinal(turn) is not None or described
    return len(products) >= 2 or bool(turn.nlu.entities_of("option")) or bool(turn.nlu.entities_of("quantity"))


def _refine(dialog: Dialog, turn: Turn, kind: Kind) -> Kind:
    """Intents are coarse ("search_products" covers "something similar?"); the words decide the exact task."""
    refs, unknown = refs_in(dialog, turn)
    named = len(refs) + len(unknown)
    if kind in ("search", "details"):
        entities = {e.type for e in turn.nlu.entities}
        if POLICY_QUESTION.search(turn.text) and not entities & {"product", "option", "price_range"}:
            return "knowledge"
        if SIMILAR.search(turn.text):
            return "similar"
        if COMPARE.search(turn.text.lower()) and (named >= 2 or (named == 1 and focus(dialog, turn.index))):
            return "compare"
        if kind == "search" and named and (DETAILS.search(turn.text) or ordinal(turn) is not None):
            return "details"
        if kind == "details" and not named and focus(dialog, turn.index) is None:
            return "search"
    if kind in CART_KINDS and CHANGE_QUANTITY.search(turn.text):
        return "quantity"
    return kind


def shop_task(dialog: Dialog) -> ShopTask | None:
    """The shopping task the customer is on: the newest message that starts one, carried on by the messages after
    it that add to it (a product, an option, a quantity, a position in a list, a yes). An answer that picks a
    product from a list ("the second one") asks for its details; a yes to "Shall I add it to your cart?" asks to
    add it. Anything else after the task (a policy question, small talk) ends it."""
    answers: list[Turn] = []
    for turn in reversed(dialog.turns):
        kind = _new_task(dialog, turn)
        if kind is not None:
            return _carried(dialog, ShopTask(kind, turn), answers)
        if leaves(dialog, turn):
            return None
        if not (shop_content(dialog, turn) or (turn.answering and turn.nlu.intent == "affirm")):
            return None
        answers.insert(0, turn)
    return None


def _carried(dialog: Dialog, task: ShopTask, answers: list[Turn]) -> ShopTask:
    for answer in reversed(answers):
        if _offered_add(dialog, answer) and answer.nlu.intent == "affirm":
            return ShopTask("add", answer)
        refs, unknown = refs_in(dialog, answer)
        if len(refs) + len(unknown) >= 2 and COMPARE.search(answer.text.lower()):
            return ShopTask("compare", answer)  # "compare the first and the second"
        if task.kind in ("search", "similar", "compare") and (refs or unknown):
            return ShopTask("details", answer)
    return task


def _offered_add(dialog: Dialog, turn: Turn) -> bool:
    return turn.expects == ADD


def task_turns(dialog: Dialog, task: ShopTask) -> list[Turn]:
    return [t for t in dialog.turns if t.index >= task.turn.index]
