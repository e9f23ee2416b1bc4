"""The OpenAPI document: paths, tags, summaries, the SSE description, and the exact public fields."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return resolve(spec, spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    if "anyOf" in schema:
        return resolve(spec, next(s for s in schema["anyOf"] if s.get("type") != "null"))
    return schema


def test_the_conversation_paths_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) >= {
        "/v1/conversations",
        "/v1/conversations/{conversation_id}/messages",
        "/v1/conversations/{conversation_id}",
        "/healthz",
    }
    operations = [
        paths["/v1/conversations"]["post"],
        paths["/v1/conversations/{conversation_id}/messages"]["post"],
        paths["/v1/conversations/{conversation_id}"]["get"],
    ]
    for operation in operations:
        assert operation["tags"] == ["conversations"]
        assert operation["summary"]
    assert "201" in operations[0]["responses"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)
    assert {t["name"] for t in spec["tags"]} == {"conversations", "escalations", "ops"}


def test_the_escalation_paths_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/v1/escalations", "get"): {"401"},
        ("/v1/escalations/events", "get"): {"401"},
        ("/v1/escalations/{ticket_id}", "get"): {"401", "404"},
        ("/v1/escalations/{ticket_id}/claim", "post"): {"401", "404", "409"},
        ("/v1/escalations/{ticket_id}/assign", "post"): {"401", "403", "404", "409", "422"},
        ("/v1/escalations/{ticket_id}/messages", "post"): {"201", "401", "403", "404", "409", "422"},
        ("/v1/escalations/{ticket_id}/notes", "post"): {"201", "401", "404", "422"},
        ("/v1/escalations/{ticket_id}/resolve", "post"): {"401", "403", "404", "409", "422"},
    }
    for (path, method), codes in expected.items():
        operation = paths[path][method]
        assert operation["tags"] == ["escalations"] and operation["summary"]
        assert set(operation["responses"]) >= codes, path
    assert (
        "text/event-stream" in paths["/v1/conversations/{conversation_id}/events"]["get"]["responses"]["200"]["content"]
    )


def test_the_message_endpoint_documents_json_sse_and_its_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]
    for event in ("turn.started", "tool_call", "proposal", "reply", "turn.completed", "error"):
        assert f"`{event}`" in operation["description"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/event-stream"}
    assert set(operation["responses"]) >= {"200", "404", "413", "422", "503"}
    body = resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body["required"] == ["text"]
    assert body["properties"]["text"]["maxLength"] == 10_000
    assert body["examples"]


def test_the_turn_response_has_the_exact_public_fields(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]
    turn = resolve(spec, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(turn["required"]) >= {"reply", "agent", "intent", "tool_calls", "awaiting_confirmation"}
    assert set(turn["properties"]) == {
        "conversation_id",
        "reply",
        "agent",
        "intent",
        "confidence",
        "tool_calls",
        "awaiting_confirmation",
        "proposal",
        "mode",
        "products",
        "cart",
    }
    call = resolve(spec, turn["properties"]["tool_calls"]["items"])
    assert set(call["properties"]) == {"name", "arguments", "ok"}
    assert set(call["required"]) == {"name", "arguments", "ok"}
    assert turn["examples"]


def test_the_transcript_and_error_bodies_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    transcript = resolve(
        spec,
        spec["paths"]["/v1/conversations/{conversation_id}"]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ],
    )
    event = resolve(spec, transcript["properties"]["events"]["items"])
    assert set(event["properties"]) == {"id", "kind", "text", "payload", "created_at"}
    error = spec["components"]["schemas"]["ErrorResponse"]
    assert set(error["properties"]) == {"code", "message", "error_id", "details"}
