"""The output guard in the real graph, with a strict scripted model at the model boundary: an invented price,
another customer's email or a promise the policy does not make never reaches the customer."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, SystemMessage
from langgraph.checkpoint.memory import InMemorySaver

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.remote import METADATA_KEY
from shopkeep.llm.streaming import ReplyDelta, TurnDone, stream_turn
from shopkeep.replies import reply
from shopkeep.store import SqlCommerceStore
from tests.llm.providers.support import POLICY, FixedRouter
from tests.support.scripted_model import ScriptedChatModel, call, say

EMAIL = "emma.smith3991@example.com"
LOOKUP = [call("find_user_id_by_email", email=EMAIL), call("get_order_details", order_id="#W2417020")]
QUESTION = f"I'm {EMAIL}. What did the laptop in order #W2417020 cost?"


def service(store: SqlCommerceStore, model: ScriptedChatModel) -> ConversationService:
    prompts = PromptRegistry.load(POLICY)
    brains = lambda _agent: model  # noqa: E731
    deps = AgentDeps(
        store=store, brains=brains, router=FixedRouter("orders"), registry=agent_registry(), prompts=prompts
    )
    return ConversationService(build_graph(deps, checkpointer=InMemorySaver()), store, policy=prompts.policy.text)


def rail_events(svc: ConversationService, cid: str) -> list[dict[str, Any]]:
    return [e.payload for e in svc.transcript(cid) if e.kind == "rail"]


def test_an_invented_price_is_re_asked_once_and_the_grounded_answer_goes_out(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(steps=[*LOOKUP, say("The laptop cost $1,999.00."), say("The laptop cost $2,674.40.")])
    svc = service(sqlite_store, model)
    cid = svc.start()
    turn = svc.send(cid, QUESTION)
    assert turn.reply == "The laptop cost $2,674.40."
    note = model.calls[-1][-1]
    assert isinstance(note, SystemMessage) and "amount $1,999.00" in str(note.content)
    assert [e["rail"] for e in rail_events(svc, cid)] == ["grounded_facts", "output_reask"]
    model.assert_done()
    # the rejected draft is not in the history a later turn's brain reads
    assert "$1,999.00" not in str(svc.values(cid)["messages"])


def test_a_brain_that_invents_twice_gets_the_safe_reply(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(steps=[*LOOKUP, say("It was $1,999.00."), say("Sorry, it was $1,899.00.")])
    svc = service(sqlite_store, model)
    cid = svc.start()
    assert svc.send(cid, QUESTION).reply == reply("guardrails.ungrounded")
    assert [e["rail"] for e in rail_events(svc, cid)] == ["grounded_facts", "grounded_facts", "output_fallback"]
    model.assert_done()


def test_a_promise_the_policy_does_not_make_never_reaches_the_customer(sqlite_store: SqlCommerceStore) -> None:
    promise = "Your refund will be back within 24 hours."
    model = ScriptedChatModel(steps=[*LOOKUP, say(promise), say("It's guaranteed within 24 hours, promise.")])
    svc = service(sqlite_store, model)
    cid = svc.start()
    turn = svc.send(cid, QUESTION)
    assert turn.reply == reply("guardrails.ungrounded") and "24 hours" not in turn.reply
    assert rail_events(svc, cid)[0]["rail"] == "permitted_promises"
    model.assert_done()


def test_a_policy_timeline_passes_untouched(sqlite_store: SqlCommerceStore) -> None:
    reply = "The laptop cost $2,674.40; a card refund takes 5-7 business days, a gift card refund is instant."
    model = ScriptedChatModel(steps=[*LOOKUP, say(reply)])
    svc = service(sqlite_store, model)
    cid = svc.start()
    assert svc.send(cid, QUESTION).reply == reply
    assert rail_events(svc, cid) == []
    model.assert_done()


def test_another_customers_email_is_redacted_without_asking_again(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(steps=[*LOOKUP, say("Done. I've also copied noah.brown7922@example.com.")])
    svc = service(sqlite_store, model)
    cid = svc.start()
    turn = svc.send(cid, QUESTION)
    assert turn.reply == "Done. I've also copied [email removed]."
    assert rail_events(svc, cid) == [
        {"rail": "other_customers_pii", "stage": "output", "reason": "redacted email", "blocked": False}
    ]
    model.assert_done()  # strict: no second call was made


def test_a_local_fallback_reply_is_never_re_asked(sqlite_store: SqlCommerceStore) -> None:
    """The local brain is deterministic: asking it again would give the same reply, so a trip is logged as a bug
    and the customer gets the safe reply (the strict model fails on any further call)."""
    fallback = AIMessage(content="It cost $1.00.", response_metadata={METADATA_KEY: {"fallback": True, "llm_calls": 0}})
    model = ScriptedChatModel(steps=[*LOOKUP, fallback])
    svc = service(sqlite_store, model)
    cid = svc.start()
    assert svc.send(cid, QUESTION).reply == reply("guardrails.ungrounded")
    model.assert_done()


def test_streaming_never_releases_an_ungrounded_sentence(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(
        steps=[*LOOKUP, say("Found it. It cost $1,999.00. Anything else?"), say("It cost $2,674.40.")]
    )
    svc = service(sqlite_store, model)
    cid = svc.start()
    events = list(stream_turn(svc, cid, QUESTION))
    streamed = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    assert streamed == "Found it. "  # the stream stopped at the sentence with the invented price
    done = events[-1]
    assert isinstance(done, TurnDone) and done.turn.reply == "It cost $2,674.40."
    model.assert_done()


def test_streaming_checks_against_earlier_turns_and_this_turns_tool_results(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email=EMAIL),
            say("Thanks, you're verified."),
            call("get_order_details", order_id="#W2417020"),
            say("Order #W2417020 is pending. The laptop cost $2,674.40."),
        ]
    )
    svc = service(sqlite_store, model)
    cid = svc.start()
    list(stream_turn(svc, cid, EMAIL))
    events = list(stream_turn(svc, cid, "what about order #W2417020?"))
    streamed = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    assert streamed == "Order #W2417020 is pending. The laptop cost $2,674.40."
    model.assert_done()
