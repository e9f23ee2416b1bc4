"""The local brain: a LangChain chat model that decides with NLU + per-agent dialog policies, fully offline.

It emits ordinary tool calls and replies, so the graph cannot tell it from an LLM; it is deterministic, needs no
network and no keys, and is the baseline every eval runs on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from shopkeep.llm.binding import ToolBindingChatModel
from shopkeep.llm.local.dialog import DEMO_PROFILE, Dialog
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies.base import Call, Step
from shopkeep.shop.profile import ProfileSource

Policy = Callable[[Dialog], Step]


class LocalBrain(ToolBindingChatModel):
    """Speaks for one agent; ``policies`` maps an agent name to its decision function."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: str
    nlu: NLU
    policies: dict[str, Policy]
    shop: ProfileSource | None = None
    """The shop replies speak for: its name, currency and support hours (None: the demo store's)."""

    @property
    def _llm_type(self) -> str:
        return "shopkeep-local"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        allowed = {t["function"]["name"] for t in kwargs.get("tools", []) if isinstance(t, dict)}
        dialog = Dialog(
            agent=self.agent, messages=messages, nlu=self.nlu, shop=self.shop.current() if self.shop else DEMO_PROFILE
        )
        step = self.policies[self.agent](dialog)
        if isinstance(step, Call):
            if allowed and step.name not in allowed:
                raise ValueError(f"the {self.agent} policy chose {step.name}, which is not bound")
            message = AIMessage(
                content="",
                tool_calls=[{"name": step.name, "args": step.args, "id": f"call_{uuid.uuid4().hex[:12]}"}],
            )
        else:
            # which agent asked the question this reply ends with: the router hands the answer back to it
            metadata = {"agent": step.awaits or self.agent, **({"expects": step.expects} if step.expects else {})}
            message = AIMessage(content=step.text, response_metadata=metadata)
        return ChatResult(generations=[ChatGeneration(message=message)])
