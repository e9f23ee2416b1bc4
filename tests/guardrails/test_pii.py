"""PII never reaches a log line: emails, phones, street addresses and card numbers are redacted (Presidio, offline)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog

from shopkeep.guardrails.redaction import redact, redact_value
from shopkeep.observability import configure_logging
from shopkeep.settings import Settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to emma.smith3991@example.com", "write to [email]"),
        ("my phone is 5551234567", "my phone is [phone]"),
        ("call me at (212) 555-0187 tomorrow", "call me at [phone] tomorrow"),
        ("ship to 10 Oak Street, Apt 5, Boston, MA 02110", "ship to [address], Boston, MA 02110"),
        ("pay with 4242 4242 4242 4242", "pay with [card ending 4242]"),
    ],
)
def test_pii_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text", ["order #W2417020 costs $1,234.56", "item 3234800602, qty 2", "zip 10192", "nothing personal"]
)
def test_ids_and_amounts_are_kept(text: str) -> None:
    assert redact(text) == text


def test_nested_values_are_walked() -> None:
    assert redact_value({"args": ["a@b.example.com", 3], "note": ("call 555-123-4567",)}) == {
        "args": ["[email]", 3],
        "note": ("call [phone]",),
    }


def test_a_log_line_comes_out_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(Settings(var_dir=tmp_path, log_format="json"))
    try:
        structlog.get_logger("test").info(
            "customer_wrote", text="I'm at 221 Baker Street, email sam@example.com, phone 555-123-4567"
        )
        logging.getLogger("library").warning("contact sam@example.com")
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        structlog.reset_defaults()
    event = json.loads(next(line for line in lines if "customer_wrote" in line))
    assert event["text"] == "I'm at [address], email [email], phone [phone]"
    # standard-library records: pytest's handlers hold the root logger here, and they got the filter too
    assert caplog.messages[-1] == "contact [email]"
    assert "sam@example.com" not in "".join(lines)
