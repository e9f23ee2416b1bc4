"""PII redaction for logs and traces: emails, phone numbers, street addresses and card numbers never reach a log line.

The recognizers are Presidio's (``presidio-analyzer``), used directly rather than through an ``AnalyzerEngine``: the
engine wants a spaCy language model (a download), while the email, phone and card recognizers need none, and
Presidio has no street-address recognizer, so one ``PatternRecognizer`` is added here. Two offline adjustments:
the email recognizer checks top-level domains with ``tldextract``, which fetches the public suffix list on first
use, so it is given an extractor that reads only the list bundled with the package; and a bare run of 10 digits is
a phone number only next to a word like "phone" or "call" (the catalog's item ids are 10 digits too).

Card numbers are always masked first by the Luhn check the input rail uses. Importing Presidio costs seconds (it
imports spaCy), so it happens on the first value that could hold PII; a cheap pre-check lets every other value
through untouched.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from shopkeep.guardrails.cards import mask_card_numbers

_PHONE_CONTEXT = re.compile(r"\b(phone|call|cell|mobile|tel|telephone|text me|sms|whatsapp|number)\b", re.I)
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Circle|Parkway"
    r"|Pkwy|Highway|Hwy|Square|Sq|Trail|Loop)"
)
_ADDRESS = (
    rf"\b\d{{1,6}}\s+(?:[A-Za-z][A-Za-z'-]*\s+){{1,4}}{_STREET_SUFFIX}\b\.?"
    r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|#)\.?\s*\w+)?"
)
# Values with none of these hold nothing the recognizers could find: they skip them (and the Presidio import).
_MAYBE_PII = re.compile(rf"(?i)@|\d[\d ().+-]{{5,}}\d|\b\d{{1,6}}\s+\w.*\b{_STREET_SUFFIX}\b")
LABELS = {"EMAIL_ADDRESS": "[email]", "PHONE_NUMBER": "[phone]", "STREET_ADDRESS": "[address]", "CREDIT_CARD": "[card]"}
_lock = threading.Lock()


@cache
def _recognizers() -> list[Any]:
    import tldextract
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, EmailRecognizer, PhoneRecognizer

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline(pattern_text).suffix)

    address = PatternRecognizer(
        supported_entity="STREET_ADDRESS", patterns=[Pattern("us_street", _ADDRESS, 0.6)], supported_language="en"
    )
    return [OfflineEmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), address]


def _spans(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    with _lock:  # the recognizers keep no per-call state, but tldextract's lazy suffix load is not thread-safe
        recognizers = _recognizers()
        for recognizer in recognizers:
            for result in recognizer.analyze(text, recognizer.supported_entities, None):
                value = text[result.start : result.end]
                if result.entity_type == "PHONE_NUMBER" and value.isdigit():
                    before = text[max(0, result.start - 30) : result.start]
                    if not _PHONE_CONTEXT.search(before):
                        continue  # a bare digit run is an item id or an amount unless the text says phone
                found.append((result.start, result.end, result.entity_type))
    return found


def redact(text: str) -> str:
    """``text`` with every email, phone number, street address and card number replaced by a label."""
    text, _ = mask_card_numbers(text)
    if not _MAYBE_PII.search(text):
        return text
    pieces: list[str] = []
    last = 0
    for start, end, entity in sorted(_spans(text)):
        if start < last:
            continue  # overlaps a span already replaced (a phone inside an address)
        pieces += [text[last:start], LABELS.get(entity, "[redacted]")]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def redact_value(value: Any) -> Any:
    """``redact`` applied to every string inside a log value (dicts, lists and tuples walked)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item) for item in value)
    return value
