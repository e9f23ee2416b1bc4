"""What one remote model request tells operations: a ``chat <model>`` span (GenAI conventions) and the LLM metrics.

The span is not made current: the request runs inside the remote brain's token stream, and nothing runs under it.
Only names and counts are recorded: never the prompt, the reply or a tool call's arguments.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode

from shopkeep import metrics, tracing


@dataclass
class LLMCall:
    span: Span
    input_tokens: int = 0
    output_tokens: int = 0

    def tokens(self, input_tokens: int, output_tokens: int) -> None:
        self.input_tokens, self.output_tokens = input_tokens, output_tokens


@contextmanager
def observe_llm_call(agent: str, provider: str, model: str) -> Iterator[LLMCall]:
    """Span and metrics of one provider request; the caller reports its token counts with ``LLMCall.tokens``."""
    model = model or provider
    attributes = {tracing.OPERATION: "chat", tracing.PROVIDER: provider, tracing.REQUEST_MODEL: model}
    span = (
        tracing.tracer().start_span(
            f"chat {model}", kind=SpanKind.CLIENT, attributes={**attributes, "shopkeep.agent": agent}
        )
        if tracing.active()
        else INVALID_SPAN
    )
    call = LLMCall(span)
    started = time.perf_counter()
    try:
        yield call
    except BaseException as exc:
        span.set_attribute(tracing.ERROR_TYPE, type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR))
        raise
    finally:
        metrics.LLM_CALLS.labels(agent=agent, provider=provider, model=model).inc()
        metrics.LLM_SECONDS.labels(provider=provider, model=model).observe(time.perf_counter() - started)
        for kind, count in (("input", call.input_tokens), ("output", call.output_tokens)):
            if count:
                metrics.LLM_TOKENS.labels(agent=agent, provider=provider, model=model, type=kind).inc(count)
        span.set_attribute(tracing.INPUT_TOKENS, call.input_tokens)
        span.set_attribute(tracing.OUTPUT_TOKENS, call.output_tokens)
        span.end()
