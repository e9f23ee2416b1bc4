"""The support policy on hand-built conversations: knowledge answers with citations, not-sure answers with the offer
of a human, small talk, and clarification of messages it cannot read."""

from __future__ import annotations

import pytest

from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies import POLICIES
from shopkeep.llm.local.policies.base import Call, Say
from tests.support.dialogs import Conversation, demo_reply
from tests.support.shop_results import (
    CANCELLATION_PASSAGE,
    RETURNS_PASSAGE,
    UNRELATED_PASSAGE,
    knowledge,
)

support = POLICIES["support"]


def test_a_policy_question_is_looked_up_in_its_own_words(nlu: NLU) -> None:
    talk = Conversation().user("is there a fee to cancel an order?")
    assert talk.decide(support, nlu, "support") == Call(
        "search_knowledge", {"question": "is there a fee to cancel an order?"}
    )


def test_the_answer_quotes_the_key_sentences_and_cites_the_source(nlu: NLU) -> None:
    question = "is there a fee to cancel an order?"
    talk = Conversation().user(question)
    found = knowledge(question, CANCELLATION_PASSAGE, RETURNS_PASSAGE)
    calls, reply = talk.run(support, nlu, {"search_knowledge": found}, "support")
    assert len(calls) == 1
    assert reply.text == (
        'From our help page "Cancellation Fees": "Cancelling an order at the Shopkeep Demo Store never costs you '
        "anything. We do not charge a cancellation fee, a restocking fee or any other penalty for cancelling a pending "
        f'order." (source: cancellation-fees) {demo_reply("base.anything_else")}'
    )


def test_the_passage_that_covers_the_question_is_preferred(nlu: NLU) -> None:
    question = "what is your return policy?"
    talk = Conversation().user(question)
    found = knowledge(question, UNRELATED_PASSAGE, RETURNS_PASSAGE)
    _, reply = talk.run(support, nlu, {"search_knowledge": found}, "support")
    assert "(source: returns)" in reply.text
    assert "within 30 days of the delivery date" in reply.text


def test_weak_results_get_a_not_sure_and_a_yes_hands_over_to_a_human(nlu: NLU) -> None:
    question = "what's your refund policy for items bought on a full moon by pirates"
    talk = Conversation().user(question)
    _, reply = talk.run(support, nlu, {"search_knowledge": knowledge(question, UNRELATED_PASSAGE)}, "support")
    assert reply.text == demo_reply("support.not_sure")
    talk.user("yes")
    step = talk.decide(support, nlu, "support")
    assert isinstance(step, Call) and step.name == "transfer_to_human_agents"
    assert question in step.args["summary"]


def test_nothing_found_is_not_sure_too(nlu: NLU) -> None:
    talk = Conversation().user("what is your refund policy for pirates on a full moon?")
    _, reply = talk.run(support, nlu, {"search_knowledge": knowledge("q")}, "support")
    assert reply.text == demo_reply("support.not_sure")


def test_a_complaint_is_answered_then_a_human_is_offered(nlu: NLU) -> None:
    question = "I want to complain about the service"
    complaints = (
        "complaints",
        "Complaints",
        "Making a complaint",
        "If something went wrong with your order or our service, we want to hear about it and put it right. Tell "
        "the assistant you want to make a complaint and it will transfer you to a human agent.",
        0.1178,
    )
    talk = Conversation().user(question)
    _, reply = talk.run(support, nlu, {"search_knowledge": knowledge(question, complaints)}, "support")
    assert "(source: complaints)" in reply.text
    assert reply.text.endswith(demo_reply("base.human_offer"))


@pytest.mark.parametrize(
    ("text", "intent"), [("hello", "greeting"), ("thanks a lot", "thanks"), ("bye for now", "goodbye")]
)
def test_small_talk_has_its_templates(nlu: NLU, text: str, intent: str) -> None:
    talk = Conversation().user(text)
    assert talk.decide(support, nlu, "support") == Say(demo_reply(f"support.{intent}"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("asdkjh qwe zzz", demo_reply("support.clarify")),
        ("what's the weather like tomorrow?", demo_reply("support.out_of_scope")),
    ],
)
def test_unreadable_and_out_of_scope_messages_get_a_polite_clarification(nlu: NLU, text: str, expected: str) -> None:
    talk = Conversation().user(text)
    reply = talk.decide(support, nlu, "support")
    assert reply == Say(expected)
    assert "find products" in expected and "cart" in expected


@pytest.mark.parametrize(
    "text",
    ["je voudrais acheter des chaussures", "Quiero devolver mis auriculares", "Ich möchte meine Bestellung stornieren"],
)
def test_another_language_gets_an_english_reply_and_the_offer_of_a_human(nlu: NLU, text: str) -> None:
    talk = Conversation().user(text)
    reply = talk.decide(support, nlu, "support")
    assert reply == Say(demo_reply("support.other_language"), expects="human")
    assert "English" in reply.text and reply.text.endswith(demo_reply("base.human_offer"))
    talk.bot(reply.text, reply.expects).user("yes please")
    step = talk.decide(support, nlu, "support")
    assert isinstance(step, Call) and step.name == "transfer_to_human_agents"


def test_a_customer_who_introduces_themselves_is_verified_not_searched_for(nlu: NLU) -> None:
    talk = Conversation().user("hi").bot(demo_reply("support.greeting")).user("I'm Emma Smith, zip code 10192")
    calls, reply = talk.run(support, nlu, {"find_user_id_by_name_zip": "emma_smith_8564"}, "support")
    assert calls == [Call("find_user_id_by_name_zip", {"first_name": "Emma", "last_name": "Smith", "zip": "10192"})]
    assert reply == Say(demo_reply("support.verified"))
