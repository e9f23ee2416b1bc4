"""``shopkeep nlu classify`` and ``shopkeep eval nlu`` through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.evals.nlu import TEST_SET, load_cases
from shopkeep.llm.local.nlu import NLU
from shopkeep.shop.catalog import import_catalog
from shopkeep.shop.setup import init_shop
from shopkeep.store import open_store
from tests.shop.conftest import CATALOGS, HARBOR

runner = CliRunner()


def test_classify_prints_one_json_line_per_message(nlu: NLU) -> None:
    messages = [
        "I'm Yusuf Rossi, zip 19122",
        "",
        "please cancel order W2378156, I no longer need it",
        "refund it to the mastercard ending 9212",
        "ship it to 1234 Elm St, Springfield, IL, 62701",
        "asdkjh qwe zzxv",
    ]
    result = runner.invoke(app, ["nlu", "classify"], input="\n".join(messages) + "\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == [m for m in messages if m]
    for line in lines:
        assert set(line) == {"text", "intent", "confidence", "entities"}
        assert 0.0 <= line["confidence"] <= 1.0
        for entity in line["entities"]:
            assert {"type", "value", "start", "end"} <= set(entity)
            assert line["text"][entity["start"] : entity["end"]] == entity["text"]
    identity, cancel, payment, address, gibberish = lines
    assert identity["intent"] == "authenticate"
    assert {"type": "zip", "value": "19122"}.items() <= identity["entities"][1].items()
    assert identity["entities"][0]["value"] == {"first_name": "Yusuf", "last_name": "Rossi"}
    assert cancel["intent"] == "cancel_order"
    assert [e["value"] for e in cancel["entities"]] == ["#W2378156", "no longer needed"]
    assert payment["entities"][0]["value"] == {"kind": "credit_card", "brand": "mastercard", "last_four": "9212"}
    assert address["entities"][0]["value"]["zip"] == "62701"
    assert gibberish["intent"] == "out_of_scope"


def test_classify_reads_a_shops_own_words_with_store(nlu: NLU, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'harbor.db'}"
    store = open_store(url)
    init_shop(store, HARBOR)
    import_catalog(store, [CATALOGS / "harbor_products.csv"])
    store.close()
    text = "is the saltmarsh linen shirt in tidepool blue?\ndo you have a mechanical keyboard?\n"
    own = runner.invoke(app, ["nlu", "classify", "--store", url], input=text)
    assert own.exit_code == 0, own.output
    shirt, keyboard = [json.loads(line) for line in own.stdout.splitlines()]
    assert [(e["type"], e["value"]) for e in shirt["entities"]] == [
        ("product", "Saltmarsh Linen Shirt"),
        ("option", "Tidepool Blue"),
    ]
    assert not [e for e in keyboard["entities"] if e["type"] == "product"]
    demo = runner.invoke(app, ["nlu", "classify"], input=text)
    assert [e["value"] for e in json.loads(demo.stdout.splitlines()[1])["entities"]] == ["Mechanical Keyboard"]


def test_classify_details(nlu: NLU) -> None:
    result = runner.invoke(app, ["nlu", "classify", "--details"], input="¿Dónde está mi pedido?\n")
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert line["intent"] == "out_of_scope"
    assert line["clarify"] is True
    assert line["reason"] == "other_language"
    assert len(line["top"]) == 3


def _small_test_set(tmp_path: Path) -> Path:
    path = tmp_path / "small.jsonl"
    rows = [
        {"text": "where is my package", "intent": "track_order"},
        {"text": "cancel my order please", "intent": "cancel_order"},
        {"text": "what's the weather like in Rome", "intent": "out_of_scope"},
        {"text": "hello there", "intent": "greeting"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_eval_nlu_json(nlu: NLU, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "nlu", "--json", "--file", str(_small_test_set(tmp_path))])
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert list(reports) == ["small"]
    report = reports["small"]
    assert report["cases"] == 4
    assert report["accuracy"] == 1.0
    assert report["macro_f1"] == 1.0
    assert report["out_of_scope"]["cases"] == 1
    assert report["out_of_scope"]["flagged"] == 1.0
    assert report["confusions"] == []


def test_eval_nlu_table(nlu: NLU, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "nlu", "--file", str(_small_test_set(tmp_path))])
    assert result.exit_code == 0, result.output
    for words in (
        "accuracy",
        "macro-F1",
        "false-out-of-scope rate",
        "out-of-scope recall",
        "Most frequent confusions",
    ):
        assert words in result.stdout


def test_eval_nlu_rejects_a_bad_file(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["eval", "nlu", "--file", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi"}\n', encoding="utf-8")
    malformed = runner.invoke(app, ["eval", "nlu", "--file", str(bad)])
    assert malformed.exit_code == 2
    assert "bad.jsonl:1" in malformed.output


def test_eval_nlu_set_flags(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["eval", "nlu", "--set", "mine"])
    assert unknown.exit_code == 2
    assert "unknown set" in unknown.output
    both = runner.invoke(app, ["eval", "nlu", "--set", "team", "--file", str(_small_test_set(tmp_path))])
    assert both.exit_code == 2


def test_eval_nlu_team_set(nlu: NLU) -> None:
    result = runner.invoke(app, ["eval", "nlu", "--json", "--set", "team"])
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert list(reports) == ["team"]
    assert reports["team"]["cases"] == len(load_cases(TEST_SET))
    assert len(reports["team"]["confusions"]) >= 1


def test_eval_nlu_prints_every_set_side_by_side(nlu: NLU, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shopkeep.evals.nlu

    shopping = tmp_path / "shopping.jsonl"
    shopping.write_text(json.dumps({"text": "put two of those in my basket", "intent": "add_to_cart"}) + "\n")
    sets = {"team": _small_test_set(tmp_path), "independent_shopping": shopping, "independent": tmp_path / "absent"}
    monkeypatch.setattr(shopkeep.evals.nlu, "NLU_SETS", sets)
    result = runner.invoke(app, ["eval", "nlu"], terminal_width=200)
    assert result.exit_code == 0, result.output
    overview = result.stdout[result.stdout.index("NLU eval, every set") :]
    assert "out-of-scope recall" in overview
    rows = {
        cells[0]: cells[1:]
        for line in overview.splitlines()
        if line.startswith("│") and (cells := [cell.strip() for cell in line.strip("│").split("│")])
    }
    assert set(rows) == {"team", "independent_shopping"}  # the absent set is left out
    # utterances, accuracy, macro-F1, false out-of-scope, out-of-scope recall
    assert rows["team"] == ["4", "1.0000", "1.0000", "0.0000", "1.0000"]
    assert rows["independent_shopping"][0] == "1"
    assert rows["independent_shopping"][-1] == "-"  # no out-of-scope item: no recall to report
