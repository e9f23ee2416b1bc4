"""``shopkeep kb import`` and ``shopkeep customers import``: a shop's own help pages (found by ordinary questions
even without ``asked:`` lines, and replacing the demo's) and its existing customers (who can then verify
themselves), all or nothing, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.errors import ImportRowError, ShopDataError
from shopkeep.retrieval.embedders import LocalEmbedder
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.settings import get_settings
from shopkeep.shop.customers import import_customers
from shopkeep.shop.kb import import_help_pages
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.shop import shop_records
from shopkeep.tools import ToolContext, retail_registry
from tests.cli.test_cli import restored_logging
from tests.conftest import DATA_DIR
from tests.shop.conftest import CATALOGS
from tests.shop.test_new_shop_search import Hashing

HELP = Path(__file__).parent / "help"
runner = CliRunner()

QUESTIONS = [
    ("when will my parcel arrive in Germany?", "shipping", "Delivery times"),
    ("how long does delivery to Germany take?", "shipping", "Delivery times"),
    ("what does shipping cost", "shipping", "Delivery costs"),
    ("do you deliver to the US?", "shipping", "Delivery costs"),
    ("my jumper doesn't fit, what now?", "returns", "How to send something back"),
    ("when are you open on weekends", "about", None),
    ("is postage free?", "shipping", "Delivery costs"),
    ("how do I see where my package is", "shipping", "Tracking a parcel"),
    ("can I give back a jumper I don't like", "returns", "How to send something back"),
    ("how many days until I get my refund", "returns", "When your money comes back"),
    ("can I put my linen shirt in the dryer?", "care", "Linen"),
    ("how should I wash the wool socks", "care", "Merino wool"),
    ("do I need soap to clean the skillet", "care", "Cast iron"),
    ("can I visit your shop in person?", "about", None),
]


def test_pages_without_asked_lines_answer_ordinary_questions(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    result = import_help_pages(store, HELP)
    assert (result.pages, result.sections, result.added) == (4, 9, 4)
    search = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb")
    assert search.index_documents().kinds == {"kb": 9}  # its own pages, not the demo's 33
    ranks = {}
    for question, source, section in QUESTIONS:
        found = [(p.source, p.section) for p in search.search_knowledge(question, limit=5)]
        ranks[question] = found.index((source, section)) + 1 if (source, section) in found else None
    store.close()
    # Measured: 10 of 14 first, all in the top 5 (the pages have no "asked:" lines; a question about a country the
    # shop does not name, or about opening hours, finds the right page lower down).
    assert all(rank is not None for rank in ranks.values()), ranks
    assert sum(rank == 1 for rank in ranks.values()) >= 10, ranks


def test_pages_are_updated_and_replaced(shop_store: SqlCommerceStore, tmp_path: Path) -> None:
    import_help_pages(shop_store, HELP)
    with shop_store.session() as session:
        revision = shop_records(session).revision("knowledge")
    unchanged = import_help_pages(shop_store, HELP)
    assert (unchanged.unchanged, unchanged.added, unchanged.updated) == (4, 0, 0)
    newer = tmp_path / "pages"
    newer.mkdir()
    (newer / "returns.md").write_text((HELP / "returns.md").read_text().replace("30 days", "45 days"))
    (newer / "gift-wrap.md").write_text("# Gift wrapping\n\nEvery order can be gift wrapped for €3.\n")
    kept = import_help_pages(shop_store, newer)
    assert (kept.added, kept.updated, kept.removed) == (1, 1, 0)
    replaced = import_help_pages(shop_store, newer, replace=True)
    assert replaced.removed == 3
    with shop_store.session() as session:
        records = shop_records(session)
        pages = {page.source: page.markdown for page in records.help_pages()}
        assert records.revision("knowledge") == revision + 2
    assert set(pages) == {"returns", "gift-wrap"} and "45 days" in pages["returns"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "holds no Markdown pages"),
        ({"ok.md": "# Fine\n\nText.\n", "empty.md": "# Only a title\n"}, "empty.md line 1: the page has no text"),
        ({"bad name!.md": "# A\n\nB\n"}, "bad name!.md line 1: the file name is not a page id"),
    ],
)
def test_bad_pages_import_nothing(tmp_path: Path, files: dict[str, str], message: str) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, text in files.items():
        (pages / name).write_text(text)
    with pytest.raises(ShopDataError, match=message):
        import_help_pages(store, pages)
    with store.session() as session:
        assert shop_records(session).help_pages() == []
    store.close()


def test_a_page_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    (tmp_path / "latin.md").write_bytes("# Returns\n\nWithin 30 days.\nCaf\xe9 hours\n".encode("latin-1"))
    with pytest.raises(ImportRowError, match=r"latin\.md line 4: the text is not UTF-8"):
        import_help_pages(store, tmp_path)
    store.close()


def test_customers_from_shopify_then_json_lines_can_verify_themselves(shop_store: SqlCommerceStore) -> None:
    first = import_customers(shop_store, CATALOGS / "harbor_customers.csv")
    assert (first.format, first.rows, first.changes.added) == ("shopify", 3, 3)
    tools, ctx = retail_registry(), ToolContext(store=shop_store)
    aoife = tools.call("find_user_id_by_email", {"email": "AOIFE.BRENNAN@example.ie"}, ctx)
    assert aoife.ok and aoife.output.startswith("aoife_brennan_")
    tomas = tools.call(
        "find_user_id_by_name_zip", {"first_name": "tomás", "last_name": "ó briain", "zip": "V94 R2K8"}, ctx
    )
    assert tomas.ok and tomas.output.startswith("tomas_o_briain_")
    details = tools.call("get_user_details", {"user_id": tomas.output}, ctx).output
    assert details["address"] == {
        "address1": "Apartment 3, The Mill",  # a quoted cell with a comma; the note after it spans two lines
        "address2": "Dock Road",
        "city": "Limerick",
        "country": "IE",
        "state": "LK",
        "zip": "V94 R2K8",
    }
    second = import_customers(shop_store, CATALOGS / "harbor_customers.jsonl")
    assert (second.format, second.changes.added, second.changes.updated) == ("jsonl", 1, 1)
    renamed = tools.call("get_user_details", {"user_id": aoife.output}, ctx).output
    assert renamed["name"]["last_name"] == "Brennan-Walsh"  # the same customer, updated by email
    again = import_customers(shop_store, CATALOGS / "harbor_customers.jsonl")
    assert (again.changes.added, again.changes.updated, again.changes.unchanged) == (0, 0, 2)


CUSTOMER_HEADER = "First Name,Last Name,Email,Address1,City,Province Code,Zip,Country Code"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "no-email.csv",
            f"{CUSTOMER_HEADER}\nAoife,Brennan,,1 Quay St,Galway,G,H91,IE\n",
            "no-email.csv line 2: Email is missing",
        ),
        (
            "bad-email.csv",
            f"{CUSTOMER_HEADER}\nAoife,Brennan,aoife at example,1 Quay St,Galway,G,H91,IE\n",
            "bad-email.csv line 2: Email 'aoife at example' is not an email address",
        ),
        (
            "twice.csv",
            f"{CUSTOMER_HEADER}\nA,B,a@example.ie,,,,,\nC,D,A@EXAMPLE.IE,,,,,\n",
            "twice.csv line 3: Email 'A@EXAMPLE.IE' repeats the customer on line 2",
        ),
        ("columns.csv", "Name,Email\nAoife,a@example.ie\n", "columns.csv is in no supported format"),
        (
            "field.jsonl",
            '{"email": "a@example.ie", "phone": "1"}\n',
            "field.jsonl line 1: phone is not a field of Shopkeep's",
        ),
        ("email.jsonl", '{"email": "nobody"}\n', "email.jsonl line 1: email 'nobody' is not an email address"),
    ],
)
def test_invalid_customer_files_import_nothing(tmp_path: Path, name: str, content: str, message: str) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ShopDataError) as raised:
        import_customers(store, path)
    assert raised.value.message.replace(str(tmp_path) + "/", "").startswith(message), raised.value.message
    with store.session() as session:
        assert session.list_customers() == []
    store.close()


def test_cli_kb_and_customers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPKEEP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHOPKEEP_RETRIEVAL__EMBEDDER", "local")
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{CUSTOMER_HEADER}\nAoife,Brennan,nope,,,,,\n")
    with restored_logging():
        kb = runner.invoke(app, ["kb", "import", str(HELP), "--store", url])
        customers = runner.invoke(app, ["customers", "import", str(CATALOGS / "harbor_customers.csv"), "--store", url])
        failed = runner.invoke(app, ["customers", "import", str(bad), "--store", url])
        no_dir = runner.invoke(app, ["kb", "import", str(tmp_path / "nope"), "--store", url])
    get_settings.cache_clear()
    assert kb.exit_code == 0, kb.output
    output = " ".join(kb.output.split())
    assert "help pages: 4 pages, 9 sections: +4 added" in output and "indexed 9 documents (9 kb)" in output
    assert customers.exit_code == 0 and "customers: +3 added" in " ".join(customers.output.split())
    assert failed.exit_code == 1
    assert f"{bad} line 2: Email 'nope' is not an email address. Nothing was imported." in " ".join(
        failed.output.split()
    )
    assert no_dir.exit_code == 1 and "no such directory" in no_dir.output


def test_the_search_of_a_shop_reads_its_pages_not_the_demos(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    import_help_pages(store, HELP)
    search = CatalogSearch(store, Hashing(), kb_dir=DATA_DIR / "kb")
    search.index_documents()
    sources = {p.source for q in ("returns", "gift cards", "shipping", "password") for p in search.search_knowledge(q)}
    assert sources <= {"shipping", "returns", "care", "about"}
    store.close()
