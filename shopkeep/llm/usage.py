"""Token usage and LLM calls of a turn and of a conversation, read from the replies' metadata.

Every reply of a remote brain carries ``usage_metadata`` and ``response_metadata["shopkeep"]`` (see
``shopkeep.llm.remote``); the local brain's replies carry neither and count as zero LLM calls. The conversation
service turns these into ``usage`` and ``llm_fallback`` events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from shopkeep.llm.remote import METADATA_KEY


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    fallbacks: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, messages: Iterable[BaseMessage]) -> Usage:
        usage = cls()
        for message in messages:
            if not isinstance(message, AIMessage):
                continue
            info = message.response_metadata.get(METADATA_KEY)
            if not isinstance(info, dict):
                continue
            tokens: dict[str, Any] = dict(message.usage_metadata or {})
            usage.input_tokens += int(tokens.get("input_tokens", 0))
            usage.output_tokens += int(tokens.get("output_tokens", 0))
            usage.llm_calls += int(info.get("llm_calls", 0))
            if info.get("fallback"):
                usage.fallbacks.append({k: info.get(k) for k in ("agent", "provider", "model", "fallback_reason")})
        return usage

    def as_payload(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "llm_calls": self.llm_calls}
