"""A strict scripted chat model: the only fake allowed, at the model boundary.

It answers each call with the next scripted message, fails on a call it has no step for, and ``assert_done``
fails when steps are left over (after openai-agents' testing model).
"""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from shopkeep.llm.binding import ToolBindingChatModel


def call(name: str, **args: Any) -> AIMessage:
    """A scripted step that calls one tool."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}"}])


def say(text: str) -> AIMessage:
    return AIMessage(content=text)


class ScriptedChatModel(ToolBindingChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    steps: list[AIMessage]
    _seen: list[list[BaseMessage]] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if not self.steps:
            last = messages[-1].content if messages else ""
            raise AssertionError(f"unexpected model call (no scripted step left); last message: {last!r}")
        self._seen.append(list(messages))
        step = self.steps.pop(0)
        return ChatResult(generations=[ChatGeneration(message=step)])

    @property
    def calls(self) -> list[list[BaseMessage]]:
        return self._seen

    def assert_done(self) -> None:
        assert not self.steps, f"{len(self.steps)} scripted steps were never used: {self.steps}"
