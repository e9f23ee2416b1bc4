"""Bad input gets a clear answer and changes nothing: empty, blank, too long, malformed, unknown ids."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import start

UNKNOWN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": ""}, "text must contain at least one non-whitespace character"),
        ({"text": "   \n\t "}, "text must contain at least one non-whitespace character"),
        ({}, "text: This field is required."),
        ({"text": 42}, "text: Input should be a valid string"),
        ({"text": "hi", "confirm": 7}, "confirm: Input should be a valid string"),
    ],
)
def test_an_empty_or_invalid_message_is_422_with_a_clear_message(
    client: TestClient, body: dict[str, object], message: str
) -> None:
    cid = start(client)
    response = client.post(f"/v1/conversations/{cid}/messages", json=body)
    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "invalid_request"
    assert error["message"] == message
    assert error["details"][0]["field"] in ("text", "confirm")
    assert [e["kind"] for e in client.get(f"/v1/conversations/{cid}").json()["events"]] == ["started"]


def test_a_message_over_10000_characters_is_413(client: TestClient) -> None:
    cid = start(client)
    response = client.post(f"/v1/conversations/{cid}/messages", json={"text": "a" * 20_000})
    assert response.status_code == 413
    error = response.json()
    assert error["code"] == "message_too_long"
    assert error["message"] == (
        "The message is too long: 20,000 characters; at most 10,000 are accepted. Please shorten it."
    )
    assert "aaaa" not in response.text  # the input is not echoed back


def test_malformed_json_is_422(client: TestClient) -> None:
    cid = start(client)
    response = client.post(
        f"/v1/conversations/{cid}/messages", content=b'{"text": "hi"', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"] == "The request body is not valid JSON."


def test_an_unknown_conversation_is_404(client: TestClient) -> None:
    response = client.post(f"/v1/conversations/{UNKNOWN}/messages", json={"text": "hi"})
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Conversation not found"}
    assert client.get(f"/v1/conversations/{UNKNOWN}").status_code == 404


def test_an_unknown_route_and_a_wrong_method_use_the_error_body(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    wrong = client.delete("/v1/conversations")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
