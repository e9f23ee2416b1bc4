"""A shop's own guardrails-ai validator, written the way guardrails-ai documents custom validators."""

from __future__ import annotations

import re
from typing import Any

from guardrails.validator_base import FailResult, PassResult, ValidationResult, Validator, register_validator


@register_validator(name="harbor/no_competitors", data_type="string")
class NoCompetitors(Validator):
    """Fails when the text names a competitor; its fix says "another shop" instead."""

    def __init__(self, competitors: list[str], on_fail: Any = None) -> None:
        super().__init__(on_fail=on_fail, competitors=competitors)
        self._pattern = re.compile("|".join(re.escape(name) for name in competitors), re.IGNORECASE)

    def validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        if not self._pattern.search(value):
            return PassResult()
        return FailResult(error_message="names a competitor", fix_value=self._pattern.sub("another shop", value))
