"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio) via ``ChatOpenAI``.

The client's own retry loop (exponential back-off on connection errors, timeouts, 408/409/429 and 5xx) is the
retry policy; what still fails after it counts as "unavailable" and falls back to the local brain. Parallel tool
calls are switched off explicitly: the store policy and the tools node take one call at a time.
"""

from __future__ import annotations

from typing import Any

import httpx

from shopkeep.llm.config import ModelConfig

try:
    import openai
    from langchain_openai import ChatOpenAI
except ImportError as _import_error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the openai LLM provider needs the 'openai' extra (langchain-openai): pip install 'shopkeep[openai]'"
    ) from _import_error

TOOL_KWARGS: dict[str, Any] = {"parallel_tool_calls": False}
NO_KEY = "not-needed"
"""Sent when no key is configured: self-hosted servers ignore it, and the client refuses to start without one."""


def chat_model(config: ModelConfig, *, http_client: httpx.Client | None = None) -> ChatOpenAI:
    """The provider's chat model. ``http_client`` lets tests answer with an in-process server or a mock transport."""
    if not config.model:
        raise ValueError("the openai provider needs a model name: set SHOPKEEP_LLM__MODEL")
    api_key = config.api_key.get_secret_value() if config.api_key is not None else NO_KEY
    return ChatOpenAI(
        model=config.model,
        base_url=config.base_url or None,
        api_key=api_key,
        timeout=config.timeout_s,
        max_retries=config.max_retries,
        temperature=config.temperature,
        max_completion_tokens=config.max_output_tokens,
        stream_usage=True,
        http_client=http_client,
    )


def unavailable(exc: BaseException) -> bool:
    """Whether the failure means the server is down or overloaded (so the local brain answers instead)."""
    if isinstance(exc, openai.APIConnectionError | openai.RateLimitError | openai.InternalServerError):
        return True  # APITimeoutError is an APIConnectionError
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500
    return isinstance(exc, httpx.TransportError | TimeoutError | ConnectionError)
