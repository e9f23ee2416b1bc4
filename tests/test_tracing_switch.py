"""The tracing switch: off by default, on with the standard ``OTEL_*`` variables, spans exported over OTLP/HTTP
to a collector (here a loopback HTTP server that decodes the protobuf export requests)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from shopkeep.settings import PROJECT_ROOT, Settings
from shopkeep.tracing import configure_tracing, tracing_enabled


@pytest.mark.parametrize(
    ("variables", "enabled"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_the_switch_is_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], enabled: bool
) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert tracing_enabled(Settings()) is enabled


def test_off_by_default_installs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    assert configure_tracing(Settings()) is False


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """A loopback OTLP/HTTP trace receiver."""
    received: list[ExportTraceServiceRequest] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join()


EMIT = """
from shopkeep import tracing
from shopkeep.settings import get_settings
assert tracing.configure_tracing(get_settings())
with tracing.span("invoke_agent shopkeep", {"gen_ai.operation.name": "invoke_agent"}):
    with tracing.span("execute_tool find_user_id_by_email", {"gen_ai.tool.name": "find_user_id_by_email"}):
        pass
tracing.shutdown_tracing()
"""


def test_spans_are_exported_over_otlp_http(collector: tuple[str, list[ExportTraceServiceRequest]]) -> None:
    endpoint, received = collector
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "PYTHONPATH": str(PROJECT_ROOT)})
    done = subprocess.run([sys.executable, "-c", EMIT], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    spans = [
        (span.name, resource.resource)
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert sorted(name for name, _ in spans) == ["execute_tool find_user_id_by_email", "invoke_agent shopkeep"]
    attributes = {a.key: a.value.string_value for a in spans[0][1].attributes}
    assert attributes["service.name"] == "shopkeep"
