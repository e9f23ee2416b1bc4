"""Token budgets: tiktoken works offline from the seeded cache; history is cut between whole units and the rest
is summarised; the current turn and tool call/result pairs always survive."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from shopkeep.llm.context import SUMMARY_HEADING, fit
from shopkeep.llm.tokens import ENCODINGS, TokenCounter, cache_file_name, get_encoding, seed_cache


def test_the_cache_is_seeded_under_tiktokens_own_names_and_hashes(tmp_path: Path) -> None:
    seed_cache(tmp_path)
    for name, (url, sha256) in ENCODINGS.items():
        path = tmp_path / hashlib.sha1(url.encode()).hexdigest()
        assert path.name == cache_file_name(name)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def test_a_corrupt_cache_file_is_replaced(tmp_path: Path) -> None:
    seed_cache(tmp_path)
    path = tmp_path / cache_file_name("cl100k_base")
    path.write_bytes(b"garbage")
    seed_cache(tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ENCODINGS["cl100k_base"][1]


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_encodings_load_without_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def no_network(blobpath: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded by earlier tests
    encoding = get_encoding.__wrapped__(name, tmp_path / "cache")
    assert encoding.decode(encoding.encode("Where is order #W2417020?")) == "Where is order #W2417020?"


def test_counts_cover_text_tool_calls_and_schemas(counter: TokenCounter) -> None:
    call = AIMessage(
        content="", tool_calls=[{"name": "get_order_details", "args": {"order_id": "#W2417020"}, "id": "1"}]
    )
    assert counter.message(call) > counter.message(AIMessage(content=""))
    schema = {"type": "function", "function": {"name": "x", "parameters": {"type": "object", "properties": {}}}}
    assert counter.request([HumanMessage(content="hi")], [schema]) == counter.request(
        [HumanMessage(content="hi")]
    ) + counter.tools([schema])


def conversation(turns: int) -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage(content="You are the orders specialist.")]
    for n in range(turns):
        order = f"#W{2417020 + n}"
        messages += [
            HumanMessage(content=f"What is the status of order {order}? " + "Please hurry, it is urgent. " * 5),
            AIMessage(
                content="", tool_calls=[{"name": "get_order_details", "args": {"order_id": order}, "id": f"c{n}"}]
            ),
            ToolMessage(
                content=json.dumps({"order_id": order, "status": "pending", "items": ["x" * 40] * 10}),
                tool_call_id=f"c{n}",
                name="get_order_details",
            ),
            AIMessage(content=f"Order {order} is pending."),
        ]
    messages.append(HumanMessage(content="And can you cancel the last one?"))
    return messages


def test_history_within_budget_is_sent_as_is(counter: TokenCounter) -> None:
    messages = conversation(2)
    fitted = fit(messages, 10_000, counter)
    assert fitted.messages == messages and fitted.dropped == 0


def test_trimming_keeps_pairs_whole_the_latest_message_and_a_summary(counter: TokenCounter) -> None:
    messages = conversation(12)
    budget = 900
    fitted = fit(messages, budget, counter)
    sent = fitted.messages
    assert fitted.dropped > 0
    assert counter.messages(sent) <= budget
    assert sent[-1] == messages[-1]  # the latest customer message
    calls = {c["id"] for m in sent if isinstance(m, AIMessage) for c in m.tool_calls}
    results = {m.tool_call_id for m in sent if isinstance(m, ToolMessage)}
    assert calls == results  # no call without its result, no orphan result
    assert not isinstance(sent[1], ToolMessage)
    system = sent[0]
    assert isinstance(system, SystemMessage)
    assert str(system.content).startswith("You are the orders specialist.")
    assert SUMMARY_HEADING in str(system.content)
    summary = str(system.content)
    assert "#W2417020" in summary  # the oldest order id survives in the summary, even when its line did not
    newest_dropped = max(int(m.group(1)) for m in re.finditer(r"get_order_details\(order_id=#W(\d+)\)", summary))
    assert f"Order #W{newest_dropped} is pending." not in [str(m.content) for m in sent]
    order = f"#W{newest_dropped}"
    assert f"get_order_details(order_id={order}): ok (order_id={order}, status=pending)" in summary
    assert counter.text(summary) < budget


def test_the_current_turn_is_never_cut_even_over_budget(counter: TokenCounter) -> None:
    messages = conversation(3)
    huge = ToolMessage(content="y " * 3000, tool_call_id="big", name="get_product_details")
    current: list[BaseMessage] = [
        HumanMessage(content="show me every keyboard"),
        AIMessage(content="", tool_calls=[{"name": "get_product_details", "args": {"product_id": "1"}, "id": "big"}]),
        huge,
    ]
    fitted = fit([*messages, *current], 500, counter)
    assert fitted.messages[-3:] == current
