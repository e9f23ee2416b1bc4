"""OCI Generative AI chat models (Meta Llama, Cohere Command, xAI Grok, OpenAI gpt-oss, ...) via ``ChatOCIGenAI``.

Authentication is the OCI SDK's: an API-key profile from ``~/.oci/config``, a session token, or an instance or
resource principal on OCI itself; no secret is read by Shopkeep. The SDK's retry strategy (exponential back-off
on throttling, 5xx and transport errors) is the retry policy; what still fails after it is "unavailable" and
falls back to the local brain. Tool calls are sequential (langchain-oci enables parallel calls only on request).
"""

from __future__ import annotations

import warnings
from typing import Any

from shopkeep.llm.config import ModelConfig

try:
    import oci
    from langchain_oci import ChatOCIGenAI
    from langchain_oci.common.auth import create_oci_client_kwargs
except ImportError as _import_error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the oci LLM provider needs the 'oci' extra (oci, langchain-oci): pip install 'shopkeep[oci]'"
    ) from _import_error

TOOL_KWARGS: dict[str, Any] = {"parallel_tool_calls": False}
EMPTY_TEXT_WARNING = "GenericProvider could not extract text"
# langchain-oci warns on every reply that is only a tool call (it has no text, as it should): not a problem here.
warnings.filterwarnings("ignore", message=EMPTY_TEXT_WARNING, category=UserWarning)
CONNECT_TIMEOUT_S = 10.0


def retry_strategy(max_retries: int) -> Any:
    """The SDK's exponential back-off on throttling, 5xx and timeouts, ``max_retries`` times after the first try."""
    if max_retries <= 0:
        return oci.retry.NoneRetryStrategy()
    return oci.retry.RetryStrategyBuilder(
        max_attempts_check=True,
        max_attempts=max_retries + 1,
        total_elapsed_time_check=False,
        service_error_check=True,
        backoff_type=oci.retry.BACKOFF_FULL_JITTER_EQUAL_ON_THROTTLE_VALUE,
    ).get_retry_strategy()


def inference_client(config: ModelConfig) -> Any:
    """A ``GenerativeAiInferenceClient`` with Shopkeep's timeouts and retries."""
    kwargs = create_oci_client_kwargs(
        auth_type=config.oci_auth_type,
        service_endpoint=config.oci_service_endpoint,
        auth_file_location=config.oci_config_file,
        auth_profile=config.oci_auth_profile,
        timeout=(CONNECT_TIMEOUT_S, config.timeout_s),
    )
    kwargs["retry_strategy"] = retry_strategy(config.max_retries)
    return oci.generative_ai_inference.GenerativeAiInferenceClient(**kwargs)


def chat_model(config: ModelConfig, *, client: Any = None) -> ChatOCIGenAI:
    """The provider's chat model. ``client`` lets tests pass an SDK client on a recorded HTTP transport."""
    if not config.model:
        raise ValueError(
            "the oci provider needs a model id: set SHOPKEEP_LLM__MODEL (e.g. meta.llama-3.3-70b-instruct)"
        )
    if not config.oci_compartment_id:
        raise ValueError("the oci provider needs a compartment: set SHOPKEEP_LLM__OCI_COMPARTMENT_ID")
    return ChatOCIGenAI(
        client=client if client is not None else inference_client(config),
        model_id=config.model,
        provider=config.oci_provider or None,
        compartment_id=config.oci_compartment_id,
        service_endpoint=config.oci_service_endpoint,
        auth_type=config.oci_auth_type,
        auth_profile=config.oci_auth_profile,
        auth_file_location=config.oci_config_file,
        model_kwargs={"temperature": config.temperature, "max_tokens": config.max_output_tokens},
    )


def convert_tools(tools: list[Any]) -> list[Any]:
    """OpenAI-style function schemas as langchain-oci takes them: a JSON schema named by its ``title``."""
    converted = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            converted.append(tool)
            continue
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        converted.append(
            {**parameters, "title": function["name"], "description": function.get("description") or function["name"]}
        )
    return converted


def unavailable(exc: BaseException) -> bool:
    """Whether the failure means the service is down or overloaded (so the local brain answers instead)."""
    if isinstance(exc, oci.exceptions.ServiceError):
        return bool(exc.status == 429 or exc.status >= 500)
    if isinstance(exc, oci.exceptions.RequestException | oci.exceptions.ConnectTimeout):
        return True
    return isinstance(exc, TimeoutError | ConnectionError) or type(exc).__module__.startswith("requests.")
