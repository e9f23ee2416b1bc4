"""The local brain's replies as data: the files load and check, every key the code names exists and every reply in
the files is used, and a reply speaks for the shop it serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopkeep.domain.shop import ShopProfile
from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies import POLICIES
from shopkeep.llm.local.policies.base import Call, Say
from shopkeep.llm.local.policies.flow import flows
from shopkeep.llm.local.policies.support import SMALL_TALK
from shopkeep.replies import REPLIES_DIR, Replies, ReplyError, default_replies, keys_named_in
from tests.support.dialogs import Conversation


def _write(directory: Path, group: str, body: str) -> None:
    (directory / f"{group}.yaml").write_text(body, encoding="utf-8")


def test_includes_and_fields_are_rendered(tmp_path: Path) -> None:
    _write(tmp_path, "base", "version: 1\nreplies:\n  more: 'Anything else, {name}?'\n")
    _write(tmp_path, "orders", "version: 3\nreplies:\n  done: 'Order {order_id} is cancelled. {@base.more} {{ok}}'\n")
    replies = Replies.load(tmp_path)
    assert (
        replies.render("orders.done", order_id="#W1", name="Ana") == "Order #W1 is cancelled. Anything else, Ana? {ok}"
    )
    assert replies.fields_of("orders.done") == {"order_id", "name"}
    assert replies.versions == {"base": 1, "orders": 3}


def test_a_missing_field_or_an_unknown_key_is_an_error_not_a_reply_with_a_hole(tmp_path: Path) -> None:
    _write(tmp_path, "base", "version: 1\nreplies:\n  hello: 'Hello {name}'\n")
    replies = Replies.load(tmp_path)
    with pytest.raises(ReplyError, match="needs name"):
        replies.render("base.hello")
    with pytest.raises(ReplyError, match=r"no reply 'base\.bye'"):
        replies.render("base.bye")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("replies:\n  a: 'x'\n", "version"),
        ("version: 1\nreplies:\n  a: 'see {@base.b}'\n", "no reply 'base.b'"),
        ("version: 1\nreplies:\n  a: '{@base.b}'\n  b: '{@base.a}'\n", "cycle"),
        ("version: 1\nreplies:\n  a: 'costs {price:.2f}'\n", "format spec"),
        ("version: 1\nreplies:\n  a: 'an {} empty field'\n", "empty"),
        ("version: 1\nreplies:\n  a: 'unclosed {field'\n", "base.a"),
        ("version: 1\nreplies:\n  a: ''\n", "non-empty"),
    ],
)
def test_malformed_files_fail_when_loaded(tmp_path: Path, body: str, error: str) -> None:
    _write(tmp_path, "base", body)
    with pytest.raises(ReplyError, match=error):
        Replies.load(tmp_path)


def _keys_named_in_flows() -> set[str]:
    """The keys the flow files of ``data/flows`` name (questions and outcomes)."""
    return {
        key
        for flow in flows()
        for key in (*(slot.ask for slot in flow.slots), *flow.replies.model_dump().values())
        if key is not None
    }


def test_every_reply_the_code_names_exists_and_every_reply_is_used() -> None:
    replies = default_replies()
    in_flows = _keys_named_in_flows()
    assert in_flows, "the flows name no reply"
    named = keys_named_in() | in_flows
    assert named, "the scan found no reply keys: the pattern is out of date"
    assert named - replies.templates.keys() == set()
    included = {key for template in replies.templates.values() for key in template.includes}
    small_talk = {f"support.{intent}" for intent in SMALL_TALK}
    unused = replies.templates.keys() - named - included - small_talk
    assert unused == set(), f"replies in {REPLIES_DIR.name}/ that nothing says: {sorted(unused)}"


def test_replies_speak_for_the_shop_being_served(nlu: NLU) -> None:
    shop = ShopProfile(name="Quai des Livres", currency="EUR", support_hours="")
    greeting = POLICIES["support"](
        Dialog(agent="support", messages=Conversation().user("hello").messages, nlu=nlu, shop=shop)
    )
    assert isinstance(greeting, Say) and "Quai des Livres" in greeting.text and "Demo" not in greeting.text
    talk = Conversation().user("I want to talk to a person")
    step = POLICIES["escalation"](Dialog(agent="escalation", messages=talk.messages, nlu=nlu, shop=shop))
    assert isinstance(step, Call)
    talk.tool(step.name, step.args, {"status": "transferred"})
    handed = POLICIES["escalation"](Dialog(agent="escalation", messages=talk.messages, nlu=nlu, shop=shop))
    assert isinstance(handed, Say) and "support hours" not in handed.text and "colleague" in handed.text
