"""The cart specialist's dialog policy: add (the product and the item the customer means, from what they said now
and earlier), remove, change a quantity, and show the cart with its subtotal.

Items are pinned down by ``find_variant`` over the customer's own option words; when several items still fit, the
customer is asked which, with the values that are still open. Prices and subtotals come from the cart tools.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from shopkeep.llm.local.dialog import Dialog, Turn
from shopkeep.llm.local.policies import catalog, support
from shopkeep.llm.local.policies._shop import (
    CART_KINDS,
    NOT_DESCRIBING,
    ProductRef,
    ShopTask,
    cart_since,
    cart_text,
    cut,
    describe_line,
    describing_text,
    focus,
    look_up_names,
    money,
    named_products,
    options_text,
    ordinal,
    pick,
    quantity_of,
    refs_in,
    shop_task,
    since,
    takes,
    task_turns,
    titles_of,
)
from shopkeep.llm.local.policies.base import Call, Say, Step

EVERYTHING = re.compile(r"\b(empty|clear|everything|all|whole|entire)\b", re.IGNORECASE)


def decide(dialog: Dialog) -> Step:
    task = shop_task(dialog)
    if task is None:
        return support.decide(dialog)
    if task.kind in CART_KINDS:
        return handle(dialog, task)
    return catalog.handle(dialog, task)


WRITES = {"add": "add_to_cart", "remove": "remove_from_cart", "quantity": "update_cart_quantity"}


def handle(dialog: Dialog, task: ShopTask) -> Step:
    task = _follow_up(dialog, task)
    if task.kind == "add" and wanted_in(task.turn):
        return _add_several(dialog, task, wanted_in(task.turn))
    if task.kind == "add":
        return add(dialog, task)
    if task.kind == "remove":
        return _remove(dialog, task)
    if task.kind == "quantity":
        return _change_quantity(dialog, task)
    return _show(dialog, task)


def _follow_up(dialog: Dialog, task: ShopTask) -> ShopTask:
    """After the task's change is done, more words about it ("and a red one too", "the mouse too") ask for the
    same kind of change again, from those words."""
    tool = WRITES.get(task.kind)
    done = [e.index for e in dialog.events if e.name == tool and e.index > task.turn.index] if tool else []
    later = [t for t in dialog.turns if done and t.index > done[-1]]
    if later and task.kind == "add" and _answers(later[0], wanted_in(task.turn)):
        return task  # options for products of several named at once that still needed them ("the 1.5L one")
    return ShopTask(task.kind, later[0]) if later else task


# adding --------------------------------------------------------------------------------------------------------


def add(dialog: Dialog, task: ShopTask) -> Step:
    """Add what the customer means: the product (named, pointed at, or under discussion), the item (its options,
    resolved by ``find_variant``) and the quantity. Ends with the cart's new state from ``add_to_cart``."""
    done = since(dialog, "add_to_cart", task.turn.index)
    if done is not None:
        return _added(dialog, done.ok, done.text, done.data, str(done.args.get("item_id")))
    turns = task_turns(dialog, task)
    target = _product(dialog, task, turns)
    if not isinstance(target, ProductRef):
        return target
    quantity = quantity_of(turns) or 1
    mentions_options = any(e.type == "option" for t in turns for e in t.nlu.entities)
    if target.item_id and not mentions_options:
        return Call("add_to_cart", {"item_id": target.item_id, "quantity": quantity})
    product = catalog.product_data(dialog, target.product_id)
    if not isinstance(product, dict):
        return product
    description = describing_text(dialog, target, turns[-1].index) or target.name
    event = dialog.tried("find_variant", product_id=target.product_id, description=description)
    if event is None:
        return Call("find_variant", {"product_id": target.product_id, "description": description})
    if not event.ok:
        return Say(dialog.reply("cart.check_failed", reason=event.text.removeprefix("Error: ")))
    resolution: dict[str, Any] = event.data
    if resolution["status"] == "exact":
        return Call("add_to_cart", {"item_id": resolution["matches"][0]["item_id"], "quantity": quantity})
    if resolution["status"] == "ambiguous":
        return Say(dialog.reply("cart.comes_in_versions", product=target.name, message=resolution["message"]))
    return Say(dialog.reply("cart.no_fit", message=resolution["message"]))


def _product(dialog: Dialog, task: ShopTask, turns: list[Turn]) -> ProductRef | Step:
    for turn in reversed(turns):
        refs, unknown = refs_in(dialog, turn)
        if refs:
            return refs[-1]
        if unknown:
            return look_up_names(dialog, unknown) or Say(dialog.reply("catalog.unknown_product", name=unknown[0]))
    found = focus(dialog, task.turn.index)
    if found is None:
        return Say(dialog.reply("cart.which_to_add"))
    return found


def _added(dialog: Dialog, ok: bool, text: str, cart: Any, item_id: str) -> Say:
    if not ok:
        return Say(dialog.reply("cart.add_failed", reason=text.removeprefix("Error: ")))
    line = next((line for line in cart["lines"] if line["item_id"] == item_id), None)
    if line is None:
        return Say(dialog.reply("cart.with_hint", cart=cart_text(cart, dialog.currency)))
    return Say(
        dialog.reply(
            "cart.added",
            product=line["name"],
            options=options_text(line["options"]),
            price=money(line["unit_price"], dialog.currency),
            quantity=line["quantity"],
            totals=_totals(dialog, cart),
        )
    )


def _totals(dialog: Dialog, cart: dict[str, Any]) -> str:
    count, subtotal = cart["item_count"], money(cart["subtotal"], dialog.currency)
    if count == 1:
        return dialog.reply("cart.totals_one", subtotal=subtotal)
    return dialog.reply("cart.totals", count=count, subtotal=subtotal)


def _answers(turn: Turn, wanted: list[Wanted]) -> bool:
    """The message gives options for products asked for together, and asks for no other product."""
    if not wanted or takes(turn):
        return False
    asked = {want.name.lower() for want in wanted}
    return all(name.lower() in asked for name in named_products(turn))


# several products in one message -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """One of several products a message asks for, with the words about it ("two of the red ones")."""

    name: str
    text: str
    quantity: int


def wanted_in(turn: Turn) -> list[Wanted]:
    """The products one message asks to add when it names two or more ("the notebook and two kettles, glass"): each
    with the words between the separator before it and the one before the next product, so options and a quantity
    belong to the product they are said with. Empty when the message names fewer than two."""
    return segments(turn) if len(turn.nlu.entities_of("product")) >= 2 else []


def segments(turn: Turn) -> list[Wanted]:
    """Each product a message names, with the words said about it (see ``wanted_in``)."""
    products = sorted(turn.nlu.entities_of("product"), key=lambda e: e.start)
    text = turn.text
    bounds = [0]
    for before, after in itertools.pairwise(products):
        separators = [m.start() for m in _SEPARATOR.finditer(text, before.end, after.start)]
        bounds.append(separators[-1] if separators else after.start)
    bounds.append(len(text))
    wanted = []
    for n, product in enumerate(products):
        start, end = bounds[n], bounds[n + 1]
        words = _SEPARATOR.sub(" ", text[start:end], count=1).strip(" ,.;!") if n else text[start:end]
        counted = [e.value for e in turn.nlu.entities_of("quantity") if start <= e.start < end]
        # a number inside an option ("size 10") or a price is no quantity
        valued = [(e.start, e.end) for e in turn.nlu.entities if e.type in ("option", "money", "price_range")]
        rest = cut(text, [*valued, (0, start), (end, len(text))])
        quantity = int(counted[0]) if counted and isinstance(counted[0], int) else _quantity_in(rest)
        wanted.append(Wanted(str(product.value), words.strip(), quantity))
    return wanted


_SEPARATOR = re.compile(r"(?:\s*[,;&+]\s*(?:and\s+)?|\s+(?:and(?: also)?|plus|as well as|along with|also)\s+)", re.I)
_LEADING_QUANTITY = re.compile(
    r"\b(?P<n>\d{1,2}|two|three|four|five|six|seven|eight|nine)\s+(?:of\s+(?:the|those|these)\s+)?(?!x\b)[a-z]",
    re.IGNORECASE,
)
_WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def _quantity_in(words: str) -> int:
    found = _LEADING_QUANTITY.search(words)
    if found is None:
        return 1
    value = found.group("n").lower()
    return int(value) if value.isdigit() else _WORD_NUMBERS[value]


def _add_several(dialog: Dialog, task: ShopTask, wanted: list[Wanted]) -> Step:
    return _several(dialog, task, wanted)[0]


def _several(dialog: Dialog, task: ShopTask, wanted: list[Wanted]) -> tuple[Step, bool]:
    """Add each product a message named, in order: look it up, pin its item with ``find_variant`` over its own words
    (and, when those left options open, over what the customer answered since), add it. What could not be added is
    said after what was; the reply ends with the cart's new state. The flag says whether every product is in."""
    titles = {name.lower(): (name, pid) for name, pid in titles_of(dialog).items()}
    added: list[str] = []
    problems: list[str] = []
    for want in wanted:
        found = titles.get(want.name.lower())
        if found is None:
            lookup = look_up_names(dialog, [want.name])
            if lookup is not None:
                return lookup, False
            problems.append(dialog.reply("cart.not_in_catalog", name=want.name))
            continue
        name, product_id = found
        product = catalog.product_data(dialog, product_id)
        if not isinstance(product, dict):
            return product, False
        outcome = _item_for(dialog, product_id, want.text, _answers_after(dialog, task.turn, want.name))
        if isinstance(outcome, Call):
            return outcome, False
        status, value = outcome
        if status == "ambiguous":
            problems.append(dialog.reply("cart.comes_in_versions", product=name, message=value))
        elif status != "exact":
            problems.append(value)
        elif (done := since(dialog, "add_to_cart", task.turn.index, item_id=value)) is None:
            return Call("add_to_cart", {"item_id": value, "quantity": want.quantity}), False
        elif done.ok:
            added.append(value)
        else:
            problems.append(
                dialog.reply("cart.item_add_failed", product=name, reason=done.text.removeprefix("Error: "))
            )
    return _several_added(dialog, task, added, problems), not problems


def _answers_after(dialog: Dialog, turn: Turn, name: str) -> str:
    """What the customer said about the options of product ``name`` since ``turn``: messages that name no product,
    and the words said with this product in messages that name it ("the pink one for the mat, and the USB lamp").
    Who they are and how they pay are no options."""
    pieces = []
    for later in dialog.turns:
        if later.index <= turn.index:
            continue
        if named_products(later):
            pieces += [want.text for want in segments(later) if want.name.lower() == name.lower()]
            continue
        cuts = [(e.start, e.end) for e in later.nlu.entities if e.type in NOT_DESCRIBING]
        pieces.append(cut(later.text, cuts).strip())
    return "\n".join(p for p in pieces if p)


def _item_for(dialog: Dialog, product_id: str, words: str, answers: str) -> Call | tuple[str, str]:
    """``("exact", item id)`` when the words (then the words and the answers since) pin one item; else the next
    lookup, or the resolution's status with what to tell the customer (the options still open, or why nothing
    fits)."""
    resolution: dict[str, Any] = {}
    for description in dict.fromkeys([words, f"{words}\n{answers}" if answers else words]):
        event = dialog.tried("find_variant", product_id=product_id, description=description)
        if event is None:
            return Call("find_variant", {"product_id": product_id, "description": description})
        if not event.ok:
            return "failed", dialog.reply("cart.item_check_failed", reason=event.text.removeprefix("Error: "))
        resolution = event.data
        if resolution["status"] == "exact":
            return "exact", str(resolution["matches"][0]["item_id"])
    if resolution["status"] == "ambiguous":
        return "ambiguous", str(resolution["message"])
    return str(resolution["status"]), dialog.reply("cart.no_fit", message=resolution["message"])


def _several_added(dialog: Dialog, task: ShopTask, added: list[str], problems: list[str]) -> Say:
    cart = cart_since(dialog, task.turn.index)
    lines = {line["item_id"]: line for line in cart.data["lines"]} if cart is not None else {}
    said = [
        dialog.reply(
            "cart.added_line",
            product=lines[item]["name"],
            options=options_text(lines[item]["options"]),
            price=money(lines[item]["unit_price"], dialog.currency),
            quantity=lines[item]["quantity"],
        )
        for item in dict.fromkeys(added)
        if item in lines
    ]
    totals = _totals(dialog, cart.data) if cart is not None else ""
    text = dialog.reply("cart.added_several", lines="; ".join(said), totals=totals).strip() if said else ""
    if problems:
        return Say(" ".join([text, *problems]).strip())
    return Say(dialog.reply("cart.with_hint", cart=text).strip())


def add_pending(dialog: Dialog, task: ShopTask) -> Step | None:
    """For a purchase that names products ("I want to buy the notebook and a kettle"): the next step of putting them
    in the cart, or None once every one of them is in it."""
    wanted = wanted_in(task.turn)
    if not wanted:
        added = since(dialog, "add_to_cart", task.turn.index)
        return None if added is not None and added.ok else handle(dialog, task)
    step, complete = _several(dialog, task, wanted)
    return None if complete else step


# removing and changing quantities ------------------------------------------------------------------------------


def _current_cart(dialog: Dialog, task: ShopTask) -> dict[str, Any] | Step:
    """The cart as a cart tool returned it since the task began (looked at first if not)."""
    event = cart_since(dialog, task.turn.index)
    if event is None:
        return Call("view_cart")
    data: dict[str, Any] = event.data
    return data


def _line(dialog: Dialog, turns: list[Turn], lines: list[dict[str, Any]]) -> dict[str, Any] | Say | None:
    """The cart line the customer means: by position, by product name (and options among lines of one product),
    or the only line."""
    for turn in reversed(turns):
        position = ordinal(turn)
        if position is not None and (chosen := pick(lines, position)) is not None:
            return dict(chosen)
        names = [n.lower() for n in named_products(turn)]
        if names:
            same = [line for line in lines if line["name"].lower() in names]
            if not same:
                listing = "; ".join(describe_line(line) for line in lines)
                return Say(dialog.reply("cart.not_in_cart", product=named_products(turn)[0], lines=listing))
            described = [line for line in same if _describes(turn, line)]
            candidates = described or same
            if len(candidates) == 1:
                return dict(candidates[0])
            return None
    return dict(lines[0]) if len(lines) == 1 else None


def _describes(turn: Turn, line: dict[str, Any]) -> bool:
    text = turn.text.lower()
    return any(str(value).lower() in text for value in line["options"].values())


def _numbered(lines: list[dict[str, Any]]) -> str:
    return "; ".join(f"{n}. {describe_line(line)}" for n, line in enumerate(lines, 1))


def _remove(dialog: Dialog, task: ShopTask) -> Step:
    turns = task_turns(dialog, task)
    done = since(dialog, "remove_from_cart", task.turn.index)
    if done is not None and not done.ok:
        return Say(dialog.reply("cart.remove_failed", reason=done.text.removeprefix("Error: ")))
    cart = _current_cart(dialog, task)
    if not isinstance(cart, dict):
        return cart
    lines: list[dict[str, Any]] = cart["lines"]
    if any(EVERYTHING.search(t.text) for t in turns):
        if lines:
            return Call("remove_from_cart", {"item_id": lines[0]["item_id"]})
        return Say(dialog.reply("cart.now_empty") if done else dialog.reply("cart.already_empty"))
    if done is not None:
        return Say(_removed(dialog, str(done.args["item_id"]), cart_text(cart, dialog.currency)))
    if not lines:
        return Say(dialog.reply("cart.nothing_to_remove"))
    line = _line(dialog, turns, lines)
    if isinstance(line, Say):
        return line
    if line is None:
        return Say(dialog.reply("cart.which_to_remove", lines=_numbered(lines)))
    return Call("remove_from_cart", {"item_id": line["item_id"]})


def _removed(dialog: Dialog, item_id: str, cart: str) -> str:
    for event in reversed(dialog.events):
        if event.ok and isinstance(event.data, dict):
            for line in event.data.get("lines", []):
                if line.get("item_id") == item_id:
                    options = options_text(line["options"])
                    return dialog.reply("cart.removed", product=line["name"], options=options, cart=cart)
    return dialog.reply("cart.removed_item", cart=cart)


def _change_quantity(dialog: Dialog, task: ShopTask) -> Step:
    turns = task_turns(dialog, task)
    done = since(dialog, "update_cart_quantity", task.turn.index)
    if done is not None:
        if not done.ok:
            return Say(dialog.reply("cart.change_failed", reason=done.text.removeprefix("Error: ")))
        return Say(dialog.reply("cart.changed", cart=cart_text(done.data, dialog.currency)))
    cart = _current_cart(dialog, task)
    if not isinstance(cart, dict):
        return cart
    lines: list[dict[str, Any]] = cart["lines"]
    if not lines:
        return Say(dialog.reply("cart.empty_help"))
    line = _line(dialog, turns, lines)
    if isinstance(line, Say):
        return line
    if line is None:
        return Say(dialog.reply("cart.which_to_change", lines=_numbered(lines)))
    quantity = quantity_of(turns)
    if quantity is None:
        return Say(dialog.reply("cart.how_many", product=line["name"], options=options_text(line["options"])))
    return Call("update_cart_quantity", {"item_id": line["item_id"], "quantity": quantity})


def _show(dialog: Dialog, task: ShopTask) -> Step:
    event = since(dialog, "view_cart", task.turn.index)
    if event is None:
        return Call("view_cart")
    if not event.ok:
        return Say(dialog.reply("cart.open_failed", reason=event.text.removeprefix("Error: ")))
    if not event.data["lines"]:
        return Say(dialog.reply("cart.empty_help"))
    return Say(dialog.reply("cart.with_hint", cart=cart_text(event.data, dialog.currency)))
