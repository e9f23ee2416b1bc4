"""The tool binding every in-house chat model shares: the bound tools ride along in the call's ``kwargs["tools"]``.

The local brain, the remote-brain wrapper and the scripted models of tests, benchmarks and the red team decide from
those tools themselves; none needs a provider's tool-schema conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool


class ToolBindingChatModel(BaseChatModel):
    """A chat model whose ``bind_tools`` passes the tools, as given, to every call."""

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=list(tools), **kwargs)
