"""``shopkeep catalog import``: Shopify CSV, Merchant TSV and RSS XML, Shopkeep JSON Lines, on every backend.

The sample files in ``catalogs/`` were written for these tests; they hold the awkward cases each format has
(continuation and image-only rows, ``Default Title``, ``Colour``, HTML bodies, empty types, stock by quantity and
policy, drafts, ``g:`` fields, "12.99 USD", sale prices, item groups). Broken files are written by each test.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.domain import Product
from shopkeep.errors import ImportRowError, ShopDataError, UnknownFormatError
from shopkeep.settings import get_settings
from shopkeep.shop.catalog import import_catalog
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import export, tau2_hash
from shopkeep.store.shop import shop_records
from tests.cli.test_cli import restored_logging
from tests.shop.conftest import CATALOGS, HARBOR_FILES

runner = CliRunner()


def harbor(store: SqlCommerceStore, *names: str, replace: bool = False) -> object:
    return import_catalog(store, [CATALOGS / name for name in names or HARBOR_FILES], replace=replace)


def by_source(store: SqlCommerceStore) -> dict[str, Product]:
    with store.session() as session:
        return {p.source_id or p.product_id: p for p in session.list_products()}


def variant(product: Product, sku: str) -> object:
    return next(v for v in product.variants.values() if v.sku == sku)


def test_every_format_with_its_awkward_cases(shop_store: SqlCommerceStore) -> None:
    result = harbor(shop_store)
    changes = result.changes  # type: ignore[attr-defined]
    assert (changes.products_added, changes.variants_added) == (11, 19)
    assert sorted((s.source_id, s.reason) for s in result.skipped) == [  # type: ignore[attr-defined]
        ("harbor-gift-card", "unpublished (Status: draft)"),
        ("old-tote", "unpublished (published: false)"),
        ("winter-parka-2025", "unpublished (Published: FALSE)"),
    ]
    products = by_source(shop_store)
    assert "harbor-gift-card" not in products and "winter-parka-2025" not in products

    shirt = products["saltmarsh-linen-shirt"]  # Shopify: continuation rows, an image-only row, Colour, HTML body
    assert (shirt.name, shirt.product_type, shirt.brand) == ("Saltmarsh Linen Shirt", "Shirts", "Harbor & Pine")
    assert shirt.tags == ["linen", "summer", "shirts"]
    assert shirt.description == (
        "A loose, breathable shirt cut from washed European linen.\n- Mother-of-pearl buttons\n"
        "- Gets softer with every wash & dries fast"
    )
    assert shirt.image_url == "https://cdn.example.com/harbor/saltmarsh-driftwood.jpg"
    assert [(v.sku, v.options, v.available) for v in shirt.variants.values()] == [
        ("HP-SLS-DRF-M", {"color": "Driftwood", "size": "M"}, True),  # 12 in stock
        ("HP-SLS-DRF-L", {"color": "Driftwood", "size": "L"}, False),  # 0, policy deny
        ("HP-SLS-TID-M", {"color": "Tidepool Blue", "size": "M"}, True),  # 0, policy continue
    ]
    assert variant(shirt, "HP-SLS-DRF-M").compare_at_price == Decimal("78.00")  # type: ignore[attr-defined]
    socks = products["tidewater-wool-socks"]
    assert socks.product_type == "Socks"  # no Type: the tag that names the title's last word
    assert {v.options["color"] for v in socks.variants.values()} == {"Heather Grey", "Moss"}  # "Color" too
    mug = products["enamel-camp-mug"]
    assert [v.options for v in mug.variants.values()] == [{}]  # Title / Default Title
    assert mug.variants[next(iter(mug.variants))].available  # untracked
    assert mug.description == "Speckled enamel steel mug, 350 ml. Not for the microwave."  # no script text
    assert mug.image_url == "https://cdn.example.com/fernside/mug.jpg"
    assert mug.product_type == "Mug"  # derived from the title

    lantern = products["fs-storm-lantern"]  # Merchant TSV: an item group, a sale price, out of stock
    assert (lantern.name, lantern.product_type) == ("Storm Lantern", "Lanterns")
    red, olive = lantern.variants.values()
    assert (red.options, red.price, red.compare_at_price, red.available) == (
        {"color": "Signal Red"},
        Decimal("29.00"),
        Decimal("34.00"),
        True,
    )
    assert (olive.price, olive.compare_at_price, olive.available) == (Decimal("34.00"), None, False)
    blanket = products["hp-beach-blanket"]
    assert blanket.name == "Dune Beach Blanket" and blanket.product_type == "Blankets"  # google category's leaf
    assert [v.options["size"] for v in blanket.variants.values()] == ["Queen", "King"]
    assert all(v.available for v in blanket.variants.values())  # "in stock", preorder
    assert blanket.description == "Sand-shedding cotton weave & quick-dry."
    knife = products["FS-KNF-01"]  # no group: the item is the product; a numeric Google category names nothing
    assert (knife.name, knife.product_type, knife.tags) == ("Folding Pocket Knife", "Knife", ["gift"])

    jacket = products["hp-squall-jacket"]  # Merchant RSS XML: g: fields, RSS's own title and description
    assert (jacket.name, jacket.product_type) == ("Squall Rain Jacket", "Rain Jackets")
    assert jacket.description == "Fully taped seams, 10,000 mm waterproof rating."
    assert next(iter(jacket.variants.values())).options == {
        "color": "Navy",
        "size": "M",
        "material": "Recycled nylon",
    }
    bottle = products["FS-THM-500"]
    assert (bottle.product_type, variant(bottle, "FS-THM-500").price) == ("Water Bottles", Decimal("22.50"))  # type: ignore[attr-defined]

    candle = products["driftwood-candle"]  # JSON Lines
    assert [(v.options, v.price, v.available) for v in candle.variants.values()] == [
        ({"size": "Small"}, Decimal("16.00"), True),
        ({"size": "Large"}, Decimal("28.00"), False),
    ]
    assert products["trail-map-print"].product_type == "Print"
    assert all(len(p.product_id) == 10 and p.product_id.isdigit() for p in products.values())


def test_importing_again_changes_nothing_and_updates_go_by_handle_and_sku(
    shop_store: SqlCommerceStore, tmp_path: Path
) -> None:
    harbor(shop_store)
    before = by_source(shop_store)
    with shop_store.session() as session:
        revision = shop_records(session).revision("catalog")
    again = harbor(shop_store).changes  # type: ignore[attr-defined]
    assert (again.products_added, again.products_updated, again.products_unchanged) == (0, 0, 11)
    assert (again.variants_added, again.variants_updated, again.variants_removed) == (0, 0, 0)
    assert by_source(shop_store) == before
    with shop_store.session() as session:
        assert shop_records(session).revision("catalog") == revision + 1

    changed = (CATALOGS / "harbor_products.csv").read_text(encoding="utf-8")
    changed = changed.replace(
        "Tidepool Blue,,M,,,HP-SLS-TID-M,240,shopify,0,continue,manual,64.00",
        "Lagoon,,M,,,HP-SLS-TID-M,240,shopify,0,continue,manual,59.00",
    )
    changed = "\n".join(line for line in changed.splitlines() if "HP-TWS-MOS-SM" not in line) + "\n"
    edited = tmp_path / "edited.csv"
    edited.write_text(changed, encoding="utf-8")
    update = import_catalog(shop_store, [edited]).changes
    assert (update.products_updated, update.products_unchanged, update.products_added) == (2, 2, 0)
    assert (update.variants_updated, update.variants_removed) == (1, 1)
    after = by_source(shop_store)
    old, new = (
        variant(before["saltmarsh-linen-shirt"], "HP-SLS-TID-M"),
        variant(after["saltmarsh-linen-shirt"], "HP-SLS-TID-M"),
    )
    assert new.item_id == old.item_id  # type: ignore[attr-defined]
    assert (new.options["color"], new.price) == ("Lagoon", Decimal("59.00"))  # type: ignore[attr-defined]
    assert "HP-TWS-MOS-SM" not in {v.sku for v in after["tidewater-wool-socks"].variants.values()}
    assert after["hp-squall-jacket"] == before["hp-squall-jacket"]  # not in this file, not --replace: kept


def test_replace_keeps_ordered_variants_unavailable(store: SqlCommerceStore) -> None:
    """Into the demo store (1000 orders): every demo product goes, except the variants orders refer to."""
    with store.session() as session:
        ordered = {item.item_id for order in session.list_orders() for item in order.items}
        order = session.get_order("#W2611340")
    result = import_catalog(store, [CATALOGS / "harbor_products.jsonl"], replace=True).changes
    assert (result.products_added, result.products_removed) == (2, 50)
    with store.session() as session:
        products = session.list_products()
        assert session.get_order("#W2611340") == order  # the order still reads whole
    demo = [p for p in products if p.source_id is None]
    kept = {v.item_id for p in demo for v in p.variants.values()}
    assert kept == ordered & kept and kept  # only ordered variants are left of the demo
    assert result.variants_kept_unavailable == len(kept)
    assert not any(v.available for p in demo for v in p.variants.values())
    assert len([p for p in products if p.source_id is not None]) == 2


def test_unpublished_now_means_removed(shop_store: SqlCommerceStore, tmp_path: Path) -> None:
    harbor(shop_store, "harbor_products.jsonl")
    hidden = tmp_path / "hidden.jsonl"
    hidden.write_text(
        '{"id": "driftwood-candle", "title": "Driftwood Soy Candle", "published": false, "variants": [{"price": 1}]}\n'
    )
    result = import_catalog(shop_store, [hidden])
    assert result.changes.products_removed == 1 and [s.source_id for s in result.skipped] == ["driftwood-candle"]
    assert set(by_source(shop_store)) == {"trail-map-print"}


def test_a_failed_import_writes_nothing(shop_store: SqlCommerceStore, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "title": "A", "variants": [{"price": "twelve"}]}\n')
    with shop_store.session() as session:
        revision = shop_records(session).revisions()
    with pytest.raises(ImportRowError, match=r"broken.jsonl line 1: variants\[0\].price 'twelve' is not a number"):
        import_catalog(shop_store, [CATALOGS / "harbor_products.csv", broken])
    assert by_source(shop_store) == {}
    with shop_store.session() as session:
        assert shop_records(session).revisions() == revision


CSV_HEADER = (
    "Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,"
    "Variant SKU,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Price,"
    "Variant Compare At Price,Image Src,Image Position,Status"
)
TSV_HEADER = "id\titem_group_id\ttitle\tdescription\timage_link\tavailability\tprice\tsale_price\tcolor\tsize"


def shopify_csv(*rows: str) -> str:
    return "\n".join([CSV_HEADER, *rows]) + "\n"


def merchant_tsv(*rows: str) -> str:
    return "\n".join([TSV_HEADER, *rows]) + "\n"


RSS = (
    '<?xml version="1.0"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>\n'
    "<item>\n<g:id>A1</g:id>\n<title>Tin Cup</title>\n{fields}\n</item>\n</channel></rss>\n"
)
BROKEN = [
    # Shopify product CSV
    (
        "broken.csv",
        shopify_csv(
            "cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,9.00,,,,active", "cup,,,,,,,,,,,C2,,,,twelve,,,,"
        ),
        "broken.csv line 3: Variant Price 'twelve' is not a number",
    ),
    (
        "missing-price.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,,,,,active"),
        "missing-price.csv line 2: Variant Price is missing",
    ),
    (
        "negative.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,-4.00,,,,active"),
        "negative.csv line 2: Variant Price '-4.00' is negative",
    ),
    (
        "compare.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,4.00,about 5,,,active"),
        "compare.csv line 2: Variant Compare At Price 'about 5' is not a price such as 12.99",
    ),
    (
        "qty.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,shopify,lots,deny,4.00,,,,active"),
        "qty.csv line 2: Variant Inventory Qty 'lots' is not a whole number",
    ),
    (
        "policy.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,shopify,1,sometimes,4.00,,,,active"),
        "policy.csv line 2: Variant Inventory Policy 'sometimes' is not deny or continue",
    ),
    (
        "status.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,4.00,,,,hidden"),
        "status.csv line 2: Status 'hidden' is not active, draft or archived",
    ),
    (
        "published.csv",
        shopify_csv("cup,Tin Cup,,,,,maybe,Title,Default Title,,,C1,,,,4.00,,,,active"),
        "published.csv line 2: Published 'maybe' is not TRUE or FALSE",
    ),
    (
        "image.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,4.00,,ftp://x/y.jpg,1,active"),
        "image.csv line 2: Image Src 'ftp://x/y.jpg' is not a web address (http:// or https://)",
    ),
    (
        "no-title.csv",
        shopify_csv("cup,,,,,,TRUE,Title,Default Title,,,C1,,,,4.00,,,,active"),
        "no-title.csv line 2: Title is missing on the product's first line",
    ),
    (
        "no-handle.csv",
        shopify_csv(",Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,4.00,,,,active"),
        "no-handle.csv line 2: Handle is missing",
    ),
    (
        "apart.csv",
        shopify_csv(
            "cup,Tin Cup,,,,,TRUE,Size,S,,,C1,,,,4.00,,,,active",
            "bowl,Tin Bowl,,,,,TRUE,Title,Default Title,,,B1,,,,5.00,,,,active",
            "cup,,,,,,,,L,,,C2,,,,4.00,,,,",
        ),
        "apart.csv line 4: Handle 'cup' continues the product on line 2, but other rows came between",
    ),
    (
        "sku.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Size,S,,,C1,,,,4.00,,,,active", "cup,,,,,,,,L,,,C1,,,,4.00,,,,"),
        "sku.csv line 3: Variant SKU 'C1' repeats the variant on line 2",
    ),
    (
        "options.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Size,S,,,C1,,,,4.00,,,,active", "cup,,,,,,,,S,,,C2,,,,4.00,,,,"),
        "options.csv line 3: Option1 Value 'S' repeats the options of the variant on line 2",
    ),
    (
        "unnamed.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Size,S,,M,C1,,,,4.00,,,,active"),
        "unnamed.csv line 2: Option2 Value 'M' has no Option2 Name on the product's first line (2)",
    ),
    ("header.csv", "Handle,Title,Price\ncup,Tin Cup,4.00\n", "header.csv is in no supported format"),
    (
        "cells.csv",
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,4.00,,,,active,extra,cells"),
        "cells.csv line 2: the row has 22 cells for 20 columns",
    ),
    # Google Merchant Center TSV and RSS 2.0 XML
    (
        "currency.tsv",
        merchant_tsv("A1\t\tTin Cup\t\t\tin_stock\t12.99 GBP\t\t\t"),
        "currency.tsv line 2: price '12.99 GBP' is not in the shop's currency (USD)",
    ),
    (
        "availability.tsv",
        merchant_tsv("A1\t\tTin Cup\t\t\tsoon\t12.99 USD\t\t\t"),
        "availability.tsv line 2: availability 'soon' is not in_stock, out_of_stock, preorder or backorder",
    ),
    (
        "sale.tsv",
        merchant_tsv("A1\t\tTin Cup\t\t\tin_stock\t12.99 USD\tcheap\t\t"),
        "sale.tsv line 2: sale_price 'cheap' is not a number",
    ),
    ("title.tsv", merchant_tsv("A1\t\t\t\t\tin_stock\t12.99 USD\t\t\t"), "title.tsv line 2: title is missing"),
    (
        "duplicate.tsv",
        merchant_tsv(
            "A1\tg\tTin Cup - S\t\t\tin_stock\t1 USD\t\t\tS", "A1\tg\tTin Cup - M\t\t\tin_stock\t1 USD\t\t\tM"
        ),
        "duplicate.tsv line 3: id 'A1' repeats the item on line 2",
    ),
    (
        "columns.tsv",
        "id\ttitle\tprice\nA1\tTin Cup\t1 USD\n",
        "columns.tsv line 1: the header has no 'availability' column",
    ),
    (
        "price.xml",
        RSS.format(fields="<g:availability>in_stock</g:availability>\n<g:price>USD 4</g:price>"),
        "price.xml line 7: price 'USD 4' is not a price such as 12.99",
    ),
    ("missing.xml", RSS.format(fields="<g:price>4.00 USD</g:price>"), "missing.xml line 3: availability is missing"),
    (
        "malformed.xml",
        RSS.format(fields="<g:price>4.00 USD</g:prce>"),
        "malformed.xml line 6: the feed is not well-formed XML (mismatched tag)",
    ),
    (
        "other.xml",
        '<?xml version="1.0"?>\n<catalog><product/></catalog>\n',
        "other.xml is in no supported format (XML that is not an RSS 2.0 feed)",
    ),
    # Shopkeep JSON Lines
    (
        "json.jsonl",
        '{"id": "a", "title": "A", "variants": [{"price": 1}]}\n{"id": "b", "title": \n',
        "json.jsonl line 2: the line is not valid JSON (Expecting value)",
    ),
    (
        "field.jsonl",
        '{"id": "a", "title": "A", "colour": "red", "variants": [{"price": 1}]}\n',
        "field.jsonl line 1: colour is not a field of Shopkeep's product schema",
    ),
    ("variants.jsonl", '{"id": "a", "title": "A", "variants": []}\n', "variants.jsonl line 1: variants is empty"),
    (
        "nested.jsonl",
        '{"id": "a", "title": "A", "variants": [{"price": 1, "available": "maybe"}]}\n',
        "nested.jsonl line 1: variants[0].available 'maybe' is not true or false",
    ),
    (
        "array.jsonl",
        '{"id": "a", "title": "A", "variants": [{"price": 1}]}\n[1, 2]\n',
        "array.jsonl line 2: the line is not a JSON object",
    ),
    (
        "twice.jsonl",
        '{"id": "a", "title": "A", "variants": [{"sku": "X", "price": 1}, {"sku": "X", "price": 2}]}\n',
        "twice.jsonl line 1: variants[1].sku repeat variants[0]",
    ),
    ("empty.csv", "", "empty.csv is in no supported format (it is empty)"),
    ("notes.txt", "Our products: cups, bowls and plates.\n", "notes.txt is in no supported format"),
]


@pytest.mark.parametrize(("name", "content", "message"), BROKEN, ids=[case[0] for case in BROKEN])
def test_every_invalid_file_fails_naming_file_line_and_column(
    name: str, content: str, message: str, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ShopDataError) as raised:
        import_catalog(store, [path])
    assert raised.value.message.replace(str(tmp_path) + "/", "").startswith(message), raised.value.message
    with store.session() as session:
        assert session.list_products() == []
    store.close()


def test_an_unknown_format_names_the_supported_ones(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    notes = tmp_path / "notes.txt"
    notes.write_text("Our products: cups.\n")
    with pytest.raises(UnknownFormatError) as raised:
        import_catalog(store, [notes])
    assert raised.value.supported == ("shopify", "merchant", "jsonl")
    for words in ("Shopify product CSV", "Google Merchant Center feed (TSV or RSS 2.0 XML", "JSON Lines"):
        assert words in raised.value.message
    with pytest.raises(UnknownFormatError, match="unknown format 'excel'"):
        import_catalog(store, [notes], fmt="excel")
    store.close()


def test_a_product_in_two_files_is_refused(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    copy = tmp_path / "copy.jsonl"
    copy.write_text((CATALOGS / "harbor_products.jsonl").read_text())
    with pytest.raises(
        ImportRowError,
        match=r"copy.jsonl line 1: product 'driftwood-candle' is already in .*harbor_products.jsonl line 1",
    ):
        import_catalog(store, [CATALOGS / "harbor_products.jsonl", copy])
    store.close()


def test_the_vocabulary_comes_from_the_store(shop_store: SqlCommerceStore) -> None:
    with shop_store.session() as session:
        empty = shop_records(session).catalog_vocabulary()
    harbor(shop_store)
    with shop_store.session() as session:
        vocabulary = shop_records(session).catalog_vocabulary()
    assert vocabulary.revision > empty.revision and empty.product_types == {}
    assert set(vocabulary.product_types) == {
        "Shirts",
        "Socks",
        "Mug",
        "Cookware",
        "Lanterns",
        "Blankets",
        "Knife",
        "Rain Jackets",
        "Water Bottles",
        "Candles",
        "Print",
    }
    assert vocabulary.options["color"][:3] == ["Driftwood", "Tidepool Blue", "Heather Grey"]
    assert set(vocabulary.options) == {"color", "size", "material", "pattern"}
    assert vocabulary.brands == ["Harbor & Pine", "Fernside"]
    assert "wall art" in vocabulary.tags and "summer" in vocabulary.tags


def test_the_demo_keeps_its_tau2_layout(store: SqlCommerceStore) -> None:
    """New catalog fields are empty for the demo and never serialized: exports and tool results are τ²'s."""
    from tests.contract.test_store_contract import INITIAL_HASH

    assert tau2_hash(export(store)) == INITIAL_HASH
    with store.session() as session:
        product = session.get_product("9523456873")
    assert product is not None and set(product.model_dump(mode="json")) == {"name", "product_id", "variants"}


def test_cli_import_summary_errors_and_export_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPKEEP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHOPKEEP_RETRIEVAL__INDEX_ON_START", "false")
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    broken = tmp_path / "broken.csv"
    broken.write_text(
        shopify_csv("cup,Tin Cup,,,,,TRUE,Title,Default Title,,,C1,,,,9.00,,,,active", "cup,,,,,,,,,,,C2,,,,twelve,,,,")
    )
    exported = tmp_path / "export.jsonl"
    with restored_logging():
        init = runner.invoke(app, ["init", "--store", url, "--name", "Harbor & Pine Outfitters"])
        failed = runner.invoke(app, ["catalog", "import", str(broken), "--store", url])
        missing = runner.invoke(app, ["catalog", "import", str(tmp_path / "nope.csv"), "--store", url])
        done = runner.invoke(app, ["catalog", "import", *(str(CATALOGS / f) for f in HARBOR_FILES), "--store", url])
        export_run = runner.invoke(app, ["catalog", "export", str(exported), "--store", url])
        again = runner.invoke(app, ["catalog", "import", str(exported), "--format", "jsonl", "--store", url])
    get_settings.cache_clear()
    assert init.exit_code == 0, init.output
    assert failed.exit_code == 1
    assert f"{broken} line 3: Variant Price 'twelve' is not a number. Nothing was imported." in " ".join(
        failed.output.split()
    )
    assert missing.exit_code == 1 and "no such file" in missing.output
    assert done.exit_code == 0, done.output
    summary = " ".join(done.output.split())
    assert "products: +11 added, ~0 updated, 0 unchanged, -0 removed, 3 skipped" in summary
    assert "variants: +19 added, ~0 updated, -0 removed" in summary
    assert "skipped 1: unpublished (Status: draft) (harbor-gift-card)" in summary
    assert "indexed 30 documents" in summary
    assert export_run.exit_code == 0
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(lines) == 11 and all(line["product_id"] and line["variants"][0].get("item_id") for line in lines)
    assert again.exit_code == 0, again.output
    assert "products: +0 added, ~0 updated, 11 unchanged" in " ".join(again.output.split())
