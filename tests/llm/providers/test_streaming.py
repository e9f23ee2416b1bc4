"""The sentence guard: text leaves only as whole sentences that passed the output rails."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

from shopkeep.errors import NotFoundError
from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.facts import Facts
from shopkeep.llm.streaming import ReplyDelta, SentenceGuard, TurnDone, reply_text, stream_turn
from tests.llm.providers.support import ServiceFor
from tests.support.scripted_model import ScriptedChatModel, call, say


def test_sentences_are_released_only_when_complete() -> None:
    guard = SentenceGuard()
    assert guard.feed("Hello the") == []
    assert guard.feed("re. How are") == ["Hello there. "]
    assert guard.feed(" you?") == []
    assert guard.flush() == ["How are you?"]


def test_a_card_number_split_across_tokens_is_masked_before_release() -> None:
    guard = SentenceGuard()
    out = [*guard.feed("Use 4242 42"), *guard.feed("42 4242 4242 "), *guard.feed("now. ok"), *guard.flush()]
    assert out == ["Use [card ending 4242] now. ", "ok"]


def test_a_long_run_without_a_sentence_end_is_released_between_words_not_digits() -> None:
    guard = SentenceGuard(max_buffer=40)
    released = guard.feed("word " * 10 + "4242 4242 4242 4242 and more words here")
    assert released and all("4242" not in piece for piece in released)
    rest = guard.flush()
    assert "[card ending 4242]" in "".join(rest)


def test_a_blocking_rail_stops_the_stream() -> None:
    def block_secrets(text: str, facts: Facts) -> RailResult:
        blocked = "secret" in text
        return RailResult(name="no_secrets", stage=Stage.OUTPUT, tripped=blocked, blocked=blocked, text=text)

    guard = SentenceGuard(rails=(block_secrets,))
    assert guard.feed("Fine. The secret is 42. More.") == ["Fine. "]
    assert guard.blocked and guard.feed("Anything. ") == [] and guard.flush() == []


def test_only_specialist_text_is_streamed() -> None:
    assert reply_text(AIMessageChunk(content="Hi"), {"langgraph_node": "support"}) == "Hi"
    assert reply_text(AIMessageChunk(content="Hi"), {"langgraph_node": "router"}) == ""
    assert reply_text(ToolMessage(content="x", tool_call_id="1"), {"langgraph_node": "tools"}) == ""
    call = AIMessage(content="", tool_calls=[{"name": "view_cart", "args": {}, "id": "1"}])
    assert reply_text(call, {"langgraph_node": "cart"}) == ""


def test_a_brain_that_does_not_stream_still_streams_by_sentence(service_for: ServiceFor) -> None:
    model = ScriptedChatModel(steps=[say("Hello! I can help with orders. What do you need?")])
    service = service_for(model, "support")
    cid = service.start()
    events = list(stream_turn(service, cid, "hi"))
    assert [e.text for e in events if isinstance(e, ReplyDelta)] == [
        "Hello! ",
        "I can help with orders. ",
        "What do you need?",
    ]
    done = events[-1]
    assert isinstance(done, TurnDone) and done.turn.reply == "Hello! I can help with orders. What do you need?"
    model.assert_done()


def test_turn_errors_are_raised_from_the_stream(service_for: ServiceFor) -> None:
    service = service_for(ScriptedChatModel(steps=[]), "support")
    with pytest.raises(NotFoundError):
        list(stream_turn(service, "no-such-conversation", "hi"))


def test_a_streamed_turn_can_pause_for_a_proposal_and_resume(service_for: ServiceFor) -> None:
    model = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email="emma.smith3991@example.com"),
            call("cancel_pending_order", order_id="#W2417020", reason="no longer needed"),
            say("Cancelled. Anything else?"),
        ]
    )
    service = service_for(model, "orders")
    cid = service.start()
    asked = list(stream_turn(service, cid, "emma.smith3991@example.com: cancel #W2417020, no longer needed"))
    assert not [e for e in asked if isinstance(e, ReplyDelta)]  # no model text: the proposal is the reply
    first = asked[-1]
    assert isinstance(first, TurnDone) and first.turn.awaiting_confirmation
    done = list(stream_turn(service, cid, "yes", confirm=first.turn.proposal["fingerprint"]))  # type: ignore[index]
    assert [e.text for e in done if isinstance(e, ReplyDelta)] == ["Cancelled. ", "Anything else?"]
    last = done[-1]
    assert isinstance(last, TurnDone) and [(c.name, c.ok) for c in last.turn.tool_calls] == [
        ("cancel_pending_order", True)
    ]
    model.assert_done()
