"""Property-based fuzzing of the catalog query parser (hypothesis): any text, in any script and of any length,
parses without failing into a query whose filters are consistent and whose text stays within bounds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopkeep.retrieval.query import MAX_QUERY_CHARS, QueryParser
from shopkeep.store.seed import StoreData

_CATALOG_TEXT = (
    "red blue black white large small size L M XL under over between and or not no in stock cheapest most "
    "expensive $ 50 $1,000 1000 -5 0 999999999999 usd dollars laptop keyboard t-shirt kettle boots headphones "
    "water bottle clicky linear wireless waterproof leather cotton 4 GB 16 inch price below above less than"
)
CATALOG_WORDS = _CATALOG_TEXT.split()
QUERIES = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(CATALOG_WORDS), max_size=30).map(" ".join),
    st.lists(st.one_of(st.sampled_from(CATALOG_WORDS), st.text(max_size=8)), max_size=20).map(" ".join),
)


@pytest.fixture(scope="module")
def parser(demo_data: StoreData) -> QueryParser:
    return QueryParser(demo_data.products)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(QUERIES)
def test_any_query_parses_into_consistent_filters(parser: QueryParser, query: str) -> None:
    parsed = parser.parse(query)
    assert parsed.original == query
    assert len(parsed.text) <= MAX_QUERY_CHARS
    for bound in (parsed.min_price, parsed.max_price):
        assert bound is None or Decimal(bound) >= 0
    if parsed.min_price is not None and parsed.max_price is not None:
        assert Decimal(parsed.min_price) <= Decimal(parsed.max_price)
    assert len(parsed.product_ids) == len(set(parsed.product_ids))
    assert all(isinstance(note, str) and note for note in parsed.notes)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=MAX_QUERY_CHARS + 1, max_size=MAX_QUERY_CHARS * 3))
def test_an_overlong_query_is_shortened_with_a_note(parser: QueryParser, query: str) -> None:
    parsed = parser.parse(query)
    assert len(parsed.text) <= MAX_QUERY_CHARS
    if len(" ".join(query.split())) > MAX_QUERY_CHARS:
        assert any("too long" in note for note in parsed.notes)
