"""A remote LLM as an agent's brain: budgeted context, checked tool calls, usage accounting, and fallback.

``RemoteBrain`` is a chat model the graph uses like any other; around the provider's model it

- sends the system prompt and the history cut to the agent's token budget (``shopkeep.llm.context``);
- checks the reply's tool calls against the tools it was given: a malformed call (arguments that are not JSON,
  an unknown tool, missing or unexpected arguments) goes back to the model once as a structured tool error, and a
  second bad reply becomes a safe answer; well-formed calls still pass the tools node's own validation;
- when the provider is unreachable after its own retries (timeouts, connection errors, 5xx, rate limits), answers
  with the local brain from the full history and marks the reply as a fallback (logged and counted; the
  conversation service records it as an ``llm_fallback`` event);
- annotates the reply with its usage (provider-reported tokens, or tiktoken counts) and how it was produced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import structlog
from langchain_core.callbacks import CallbackManager, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict, Field

from shopkeep import replies
from shopkeep.llm.binding import ToolBindingChatModel
from shopkeep.llm.context import fit
from shopkeep.llm.telemetry import observe_llm_call
from shopkeep.llm.tokens import TokenCounter
from shopkeep.metrics import LLM_FALLBACKS, LLM_TOOL_CALL_ERRORS

log = structlog.get_logger(__name__)

METADATA_KEY = "shopkeep"
"""``response_metadata[METADATA_KEY]`` of every reply: how it was produced (see ``ReplyInfo`` fields below)."""
NO_STREAM_TAG = "nostream"
"""LangGraph's tag for model runs it must not stream: the provider's run inside this one."""

Unavailable = Callable[[BaseException], bool]


def tool_call_errors(message: AIMessage, tools: Sequence[Any]) -> list[ToolMessage]:
    """Structured errors for the calls of ``message`` that cannot run as written (empty when all can)."""
    schemas = {
        t["function"]["name"]: t["function"].get("parameters") or {}
        for t in tools
        if isinstance(t, dict) and "function" in t
    }
    errors: list[ToolMessage] = []

    def error(call_id: str | None, name: str, text: str) -> None:
        errors.append(
            ToolMessage(
                content=f"Error: {text}",
                tool_call_id=call_id or "",
                name=name,
                status="error",
                artifact={"ok": False, "malformed": True},
            )
        )

    for bad in message.invalid_tool_calls:
        name = bad.get("name") or ""
        error(
            bad.get("id"),
            name,
            f"the call to '{name}' could not be read ({bad.get('error') or 'its arguments are not a JSON object'}). "
            "Call the tool again with one JSON object of arguments that matches its schema.",
        )
    for call in message.tool_calls:
        name = call["name"]
        if name not in schemas:
            error(call["id"], name, f"there is no tool '{name}'. Available tools: {', '.join(sorted(schemas))}.")
            continue
        schema = schemas[name]
        properties = schema.get("properties") or {}
        missing = [k for k in schema.get("required") or [] if k not in call["args"]]
        unexpected = [k for k in call["args"] if properties and k not in properties]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(map(repr, missing))}")
            if unexpected:
                parts.append(f"unexpected {', '.join(map(repr, unexpected))}")
            error(
                call["id"],
                name,
                f"invalid arguments for {name}: {'; '.join(parts)}. Its parameters: "
                f"{json.dumps(properties, separators=(',', ':'))}",
            )
    return errors


class RemoteBrain(ToolBindingChatModel):
    """An agent's brain on a provider's chat model (see the module docstring)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: str
    model: BaseChatModel
    provider: str
    model_name: str = ""
    counter: TokenCounter
    context_tokens: int = 3000
    fallback: BaseChatModel | None = None
    unavailable: Unavailable = Field(default=lambda _exc: False)
    tool_kwargs: dict[str, Any] = Field(default_factory=dict)
    convert_tools: Callable[[list[Any]], list[Any]] = Field(default=list)
    """Turns the OpenAI-style tool schemas the graph binds into what the provider's ``bind_tools`` takes."""

    @property
    def _llm_type(self) -> str:
        return f"shopkeep-remote-{self.provider}"

    # The two entry points share one generator: ``_generate`` collects it, ``_stream`` passes it on.

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        merged: ChatGenerationChunk | None = None
        for chunk in self._run(messages, stop, run_manager, live=False, **kwargs):
            merged = chunk if merged is None else merged + chunk
        assert merged is not None
        return ChatResult(generations=[ChatGeneration(message=_ai(merged.message))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._run(messages, stop, run_manager, live=True, **kwargs)

    def _run(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        *,
        live: bool,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        tools: list[Any] = list(kwargs.pop("tools", None) or [])
        fitted = fit(messages, self.context_tokens, self.counter)
        view = fitted.messages
        info: dict[str, Any] = {
            "agent": self.agent,
            "provider": self.provider,
            "model": self.model_name,
            "prompt": messages[0].additional_kwargs.get("prompt") if messages else None,
            "dropped_messages": fitted.dropped,
            "llm_calls": 0,
            "fallback": False,
            "repaired": False,
        }
        usage = {"input_tokens": 0, "output_tokens": 0}
        config = self._child_config(run_manager)
        streamed = False  # whether the text of the reply that is returned already went out as chunks
        try:
            reply: AIMessage | None = None
            for attempt in range(2):
                sent = self.counter.request(view, tools)
                reply, streamed = None, False
                with observe_llm_call(self.agent, self.provider, self.model_name) as call:
                    for piece in self._ask(view, tools, stop, config, live=live, **kwargs):
                        if isinstance(piece, AIMessage):
                            reply = piece
                        else:
                            streamed = True
                            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
                    assert reply is not None
                    reported: dict[str, Any] = dict(reply.usage_metadata or {})
                    call.tokens(
                        int(reported.get("input_tokens") or sent),
                        int(reported.get("output_tokens") or self.counter.reply(reply)),
                    )
                info["llm_calls"] += 1
                usage["input_tokens"] += call.input_tokens
                usage["output_tokens"] += call.output_tokens
                errors = tool_call_errors(reply, tools)
                if not errors:
                    break
                LLM_TOOL_CALL_ERRORS.labels(agent=self.agent).inc()
                log.warning("llm_tool_call_rejected", agent=self.agent, attempt=attempt + 1, errors=len(errors))
                info["repaired"] = True
                if attempt == 0:
                    view = [*view, _as_sent(reply), *errors]
                else:
                    reply, streamed = AIMessage(content=replies.reply("graph.model_failed")), False
                    info["safe_reply"] = True
        except Exception as exc:
            if self.fallback is None or not self.unavailable(exc):
                raise
            LLM_FALLBACKS.labels(agent=self.agent).inc()
            reason = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("llm_fallback", agent=self.agent, provider=self.provider, reason=reason)
            info.update(fallback=True, fallback_reason=reason)
            reply = self._fallback(messages, tools, config)
            streamed = False
        assert reply is not None
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        info.update(usage)
        final = AIMessageChunk(
            content="" if streamed else reply.content,
            tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": n, "type": "tool_call_chunk"}
                for n, c in enumerate(reply.tool_calls)
            ],
            usage_metadata=UsageMetadata(
                input_tokens=usage["input_tokens"],
                output_tokens=usage["output_tokens"],
                total_tokens=usage["total_tokens"],
            ),
            response_metadata={METADATA_KEY: info},
            id=reply.id,
        )
        yield ChatGenerationChunk(message=final)

    def _ask(
        self,
        view: list[BaseMessage],
        tools: list[Any],
        stop: list[str] | None,
        config: RunnableConfig,
        *,
        live: bool,
        **kwargs: Any,
    ) -> Iterator[str | AIMessage]:
        """One provider call: text pieces as they arrive (when ``live``), then the whole reply."""
        model: Runnable[LanguageModelInput, BaseMessage] = (
            self.model.bind_tools(self.convert_tools(tools), **self.tool_kwargs) if tools else self.model
        )
        if stop:
            kwargs["stop"] = stop
        if not live:
            result = model.invoke(view, config=config, **kwargs)
            yield _ai(result)
            return
        merged: AIMessageChunk | None = None
        for chunk in model.stream(view, config=config, **kwargs):
            if isinstance(chunk, AIMessageChunk):
                merged = chunk if merged is None else merged + chunk
            text = chunk.text
            if text:
                yield text
        yield _ai(merged) if merged is not None else AIMessage(content="")

    def _fallback(self, messages: list[BaseMessage], tools: list[Any], config: RunnableConfig) -> AIMessage:
        assert self.fallback is not None
        model: Runnable[LanguageModelInput, BaseMessage] = self.fallback.bind_tools(tools) if tools else self.fallback
        return _ai(model.invoke(messages, config=config))

    def _child_config(self, run_manager: CallbackManagerForLLMRun | None) -> RunnableConfig:
        # The provider's run is a child of this one, tagged so the graph's token stream does not repeat it.
        if run_manager is None:
            return RunnableConfig(tags=[NO_STREAM_TAG])
        child = CallbackManager(
            handlers=run_manager.inheritable_handlers,
            inheritable_handlers=run_manager.inheritable_handlers,
            parent_run_id=run_manager.run_id,
            tags=[*run_manager.inheritable_tags, NO_STREAM_TAG],
            inheritable_tags=run_manager.inheritable_tags,
            metadata=run_manager.inheritable_metadata,
            inheritable_metadata=run_manager.inheritable_metadata,
        )
        return RunnableConfig(callbacks=child)


def _ai(message: BaseMessage | None) -> AIMessage:
    if isinstance(message, AIMessage) and not isinstance(message, AIMessageChunk):
        return message
    if isinstance(message, AIMessageChunk):
        return AIMessage(
            content=message.content,
            tool_calls=message.tool_calls,
            invalid_tool_calls=message.invalid_tool_calls,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            id=message.id,
        )
    return AIMessage(content=str(message.content) if message is not None else "")


def _as_sent(reply: AIMessage) -> AIMessage:
    """The rejected reply as it goes back to the model, its malformed calls listed so their errors pair up."""
    calls = [{"name": c["name"], "args": c["args"], "id": c["id"], "type": "tool_call"} for c in reply.tool_calls]
    calls += [
        {"name": b.get("name") or "", "args": {}, "id": b.get("id") or "", "type": "tool_call"}
        for b in reply.invalid_tool_calls
    ]
    return AIMessage(content=reply.content, tool_calls=calls, id=reply.id)
