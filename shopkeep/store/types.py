"""Column types that behave the same on SQLite, PostgreSQL and Oracle.

Oracle stores ``''`` as NULL, so strings that may legitimately be empty (``address2``) come back as ``''``;
JSON lives in text columns so one code path serves all three databases.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, Numeric, String, Text
from sqlalchemy.types import TypeDecorator


class EmptyableString(TypeDecorator[str]):
    """A string that may be empty: NULL (Oracle's empty string) reads back as ``''``."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Dialect) -> str:
        return value or ""


class EmptyableText(TypeDecorator[str]):
    """Long text that may be empty: NULL (Oracle's empty CLOB) reads back as ``''``."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Dialect) -> str:
        return value or ""


class JSONText(TypeDecorator[Any]):
    """A JSON value stored as text (compact, key order kept)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class MoneyAmount(TypeDecorator[Decimal]):
    """An exact amount in currency units with two decimals."""

    impl = Numeric(14, 2)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(Decimal("0.01"))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))
