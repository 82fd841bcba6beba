"""crm: orders and customers on real data (CDNOW, UCI) and small fixtures; mapping; re-import; the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from tgportrait.collect import import_file
from tgportrait.collect.crm import CUSTOMER_FIELDS, ORDER_FIELDS, parse_crm_customers, parse_crm_orders, resolve_columns
from tgportrait.config import Settings
from tgportrait.errors import InputError, MappingError
from tgportrait.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
TGPORTRAIT = Path(sys.executable).with_name("tgportrait")
UCI_ROWS = {120: "536381,21175,GIN + TONIC DIET METAL   2,12/1/10 9:41,2.1,15311,United Kingdom",
            171: "536385,22663,JUMBO BAG DOLLY GIRL DE  10,12/1/10 9:56,1.95,17420,United Kingdom",
            174: "536385,22662,LUNCH BAG DOLLY GIRL DE  10,12/1/10 9:56,1.65,17420,United Kingdom",
            178: "536387,79321,CHILLI  192,12/1/10 9:58,3.82,16029,United Kingdom"}


def uci(shared_data: Path) -> Path:
    return shared_data / "orders" / "uci_online_retail_head" / "OnlineRetail_head183.csv"


def test_cdnow_imports_every_row(shared_data: Path) -> None:
    parsed = parse_crm_orders(shared_data / "orders" / "CDNOW_master.txt", Settings.model_validate({}), {})
    events = parsed.events
    assert (events.num_rows, len(parsed.quarantined)) == (69_659, 0)
    assert pc.unique(events["type"]).to_pylist() == ["order"]
    assert pc.count_distinct(events["crm_customer_id"]).as_py() == 23_570
    assert pc.count_distinct(events["event_id"]).as_py() == 69_659      # 255 repeated rows keep their own ids
    assert round(pc.sum(events["amount_usd"]).as_py(), 2) == 2_500_315.63
    assert pc.sum(events["quantity"]).as_py() == 167_881
    assert pc.min_max(events["occurred_at"]).as_py() == {"min": datetime(1997, 1, 1), "max": datetime(1998, 6, 30)}
    assert events.slice(0, 1).select(["crm_customer_id", "source_row", "amount", "currency", "raw"]).to_pylist() == [{
        "crm_customer_id": "00001", "source_row": 1, "amount": 11.77, "currency": "USD",
        "raw": '{"customer_id": "00001", "date": "19970101", "number_of_cds": "1", "dollar_value": "11.77"}'}]


def test_uci_quarantines_the_four_malformed_rows_and_keeps_the_rest(shared_data: Path) -> None:
    parsed = parse_crm_orders(uci(shared_data), Settings.model_validate({"currency": "GBP"}), {})
    assert [(q.row, q.reason, q.raw) for q in parsed.quarantined] == [
        (row, "expected 8 fields, found 7", raw) for row, raw in UCI_ROWS.items()]
    assert {q.file for q in parsed.quarantined} == {str(uci(shared_data).resolve())}
    events = parsed.events
    assert events.num_rows == 179
    assert pc.value_counts(events["type"]).to_pylist() == [{"values": "order", "counts": 178},
                                                           {"values": "cancellation", "counts": 1}]
    assert round(pc.sum(events["amount"]).as_py(), 2) == 7753.62
    assert round(pc.sum(events["amount_usd"]).as_py(), 2) == round(7753.62 * 1.27, 2)
    assert sorted(pc.unique(events["country"]).to_pylist()) == ["FR", "GB"]
    cancellation = events.filter(pc.equal(events["type"], "cancellation")).select(
        ["source_row", "order_id", "crm_customer_id", "occurred_at", "quantity", "amount", "currency", "product"])
    assert cancellation.to_pylist() == [{
        "source_row": 154, "order_id": "C536383", "crm_customer_id": "15311",
        "occurred_at": datetime(2010, 12, 1, 9, 49), "quantity": -1.0, "amount": -4.65, "currency": "GBP",
        "product": "SET OF 3 COLOURED  FLYING DUCKS"}]


def test_reimport_adds_nothing_and_does_not_duplicate_the_quarantine(shared_data: Path, workspace: Workspace,
                                                                     tmp_path: Path) -> None:
    first = import_file(workspace, "crm-orders", uci(shared_data))
    again = import_file(workspace, "crm-orders", uci(shared_data))
    assert first.as_dict() == {"imported": 179, "duplicates": 0, "quarantined": 4,
                               "by_type": {"cancellation": 1, "order": 178}}
    assert again.as_dict() == {"imported": 0, "duplicates": 179, "quarantined": 4, "by_type": {}}
    assert [(r["row"], r["reason"]) for r in workspace.state.quarantine()] == [
        (row, "expected 8 fields, found 7") for row in UCI_ROWS]
    renamed = tmp_path / "renamed.csv"
    shutil.copy(uci(shared_data), renamed)
    assert import_file(workspace, "crm-orders", renamed).as_dict()["imported"] == 0


def test_state_skips_quarantine_rows_it_already_holds(workspace: Workspace) -> None:
    rows: list[dict[str, Any]] = [{"file": "a.csv", "row": 1, "reason": "bad"},
                                  {"file": "a.csv", "row": None, "reason": "file"}]
    assert workspace.state.add_quarantine("crm_orders", rows) == 2
    assert workspace.state.add_quarantine("crm_orders", [*rows, {"file": "a.csv", "row": 1, "reason": "other"}]) == 1
    assert [(r["row"], r["reason"]) for r in workspace.state.quarantine()] == [(1, "bad"), (None, "file"), (1, "other")]


def test_orders_statuses_currencies_and_time_zones() -> None:
    parsed = parse_crm_orders(FIXTURES / "crm_orders_utf16.tsv", Settings.model_validate({}), {})
    assert parsed.quarantined == []
    rows = parsed.events.select(["type", "subtype", "status", "occurred_at", "amount", "currency", "amount_usd",
                                 "product", "country"]).to_pylist()
    assert [(r["type"], r["status"], r["occurred_at"], r["currency"], r["country"]) for r in rows] == [
        ("order", "paid", datetime(2024, 3, 1, 7, 15), "RUB", "RU"),
        ("cancellation", "cancelled", datetime(2024, 3, 2, 9, 0), "EUR", "DE"),
        ("refund", "refunded", datetime(2024, 3, 5, 12, 0), "IDR", "ID"),
        ("order", "shipped", datetime(2024, 3, 6, 8, 30), "USD", "GB"),
    ]
    assert [r["amount_usd"] for r in rows] == pytest.approx([1500 * 0.011, 25.5 * 1.08, 100000 * 0.000063, 12.0])
    assert rows[0]["product"] == "Увлажняющий крем"


def test_dirty_orders_are_quarantined_with_reasons_and_repeated_rows_kept() -> None:
    parsed = parse_crm_orders(FIXTURES / "crm_orders_dirty_bom.txt", Settings.model_validate({"currency": "GBP"}), {})
    assert [(q.row, q.reason) for q in parsed.quarantined] == [
        (3, "customer_id is blank"),
        (4, "ordered_at 'yesterday' is not a date (expected ISO 8601, YYYYMMDD, M/D/YY H:MM, DD.MM.YYYY or unix "
            "seconds)"),
        (5, "quantity 'two' is not a number"),
        (6, "unknown currency 'XYZ' (no rate in usd_rates)"),
        (9, "expected 7 fields, found 8"),
    ]
    rows = parsed.events.select(["source_row", "type", "order_id", "amount", "currency"]).to_pylist()
    assert [(r["source_row"], r["type"], r["order_id"], r["currency"]) for r in rows] == [
        (1, "order", "5001", "GBP"), (2, "order", "5001", "GBP"), (7, "order", "5007", "GBP"),
        (8, "cancellation", "C5008", "GBP")]
    assert [r["amount"] for r in rows] == pytest.approx([15.3, 15.3, 3.0, -2.55])
    assert len(set(parsed.events["event_id"].to_pylist())) == 4


def test_json_lines_orders() -> None:
    parsed = parse_crm_orders(FIXTURES / "crm_orders.jsonl", Settings.model_validate({}), {})
    assert [(q.row, q.reason) for q in parsed.quarantined] == [
        (4, "not valid JSON: Unterminated string starting at (column 79)")]
    assert parsed.events.select(["type", "crm_customer_id", "occurred_at", "amount", "currency"]).to_pylist() == [
        {"type": "order", "crm_customer_id": "101", "occurred_at": datetime(2024, 1, 5), "amount": 19.99,
         "currency": "EUR"},
        {"type": "refund", "crm_customer_id": "102", "occurred_at": datetime(2024, 1, 6, 3), "amount": 1234.5,
         "currency": "EUR"},
    ]


def test_customers_normalise_identifiers_and_keep_rows_with_bad_ones() -> None:
    parsed = parse_crm_customers(FIXTURES / "crm_customers_cp1251.csv", Settings.model_validate({}), {})
    assert [(q.row, q.reason) for q in parsed.quarantined] == [(4, "customer_id is blank")]
    rows = parsed.events.to_pylist()
    assert [r["type"] for r in rows] == ["customer_profile"] * 4
    ivan, mariya, olga, anna = rows
    assert {k: ivan[k] for k in ("crm_customer_id", "phone", "email", "tg_username", "first_name", "last_name",
                                 "full_name", "birth_date", "gender", "city", "country", "occurred_at")} == {
        "crm_customer_id": "C-001", "phone": "+79161234567", "email": "ivan.petrov@mail.ru",
        "tg_username": "ivan_petrov", "first_name": "Иван", "last_name": "Петров", "full_name": "Иван Петров",
        "birth_date": date(1985, 3, 2), "gender": "male", "city": "Москва", "country": "RU",
        "occurred_at": datetime(2023, 5, 1, 10, 0)}
    assert (mariya["phone"], mariya["email"]) == ("+79267654321", None)
    assert json.loads(mariya["raw"])["invalid_identifiers"] == {"email": {
        "value": "not-an-email", "reason": "'not-an-email' is not an e-mail address (expected local@domain.tld)"}}
    assert (olga["phone"], olga["email"], olga["tg_username"], olga["birth_date"]) == (
        None, "olga@example.ru", None, None)
    olga_raw = json.loads(olga["raw"])
    assert olga_raw["invalid_identifiers"] == {
        "phone": {"value": "9161234567", "reason": "phone '9161234567' has no country code and the row has no country"},
        "telegram_username": {"value": "ab",
                              "reason": "'ab' is not a Telegram username (5-32 characters of a-z, 0-9 and _)"}}
    assert olga_raw["invalid_values"] == {"birth_date": {
        "value": "31.02.1991", "reason": "not a date (expected ISO 8601, YYYYMMDD, M/D/YY H:MM, DD.MM.YYYY or unix "
                                         "seconds)"}}
    assert (anna["phone"], anna["country"], anna["gender"]) == ("+442079460018", "GB", "female")


def test_customers_put_mapped_address_fields_into_raw(shared_data: Path) -> None:
    parsed = parse_crm_customers(shared_data / "record_linkage" / "dataset1.csv", Settings.model_validate({}), {})
    assert (parsed.events.num_rows, len(parsed.quarantined)) == (1000, 0)
    first = parsed.events.slice(0, 1).to_pylist()[0]
    assert (first["crm_customer_id"], first["last_name"], first["city"], first["birth_date"]) == (
        "rec-223-org", "waller", "st james", date(1908, 12, 9))
    assert {k: json.loads(first["raw"])[k] for k in ("street", "region", "postcode")} == {
        "street": "tullaroop street", "region": "wa", "postcode": " 4011"}


def test_columns_match_fields_by_name_and_synonyms() -> None:
    path = Path("orders.csv")
    assert resolve_columns(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                            "CustomerID", "Country"], ORDER_FIELDS, {}, path=path, kind="crm-orders") == {
        "order_id": "InvoiceNo", "customer_id": "CustomerID", "ordered_at": "InvoiceDate", "product": "Description",
        "country": "Country", "quantity": "Quantity", "unit_price": "UnitPrice"}
    assert resolve_columns(["Customer ID", "date", "number_of_cds", "dollar_value", "Order Status"], ORDER_FIELDS, {},
                           path=path, kind="crm-orders") == {
        "customer_id": "Customer ID", "ordered_at": "date", "amount": "dollar_value", "status": "Order Status",
        "quantity": "number_of_cds"}
    assert resolve_columns(["given_name", "surname", "dob", "email_address", "mobile", "client_id", "sex"],
                           CUSTOMER_FIELDS, {}, path=path, kind="crm-customers") == {
        "customer_id": "client_id", "first_name": "given_name", "last_name": "surname", "phone": "mobile",
        "email": "email_address", "birth_date": "dob", "gender": "sex"}
    assert resolve_columns(["ref", "date"], ORDER_FIELDS, {"customer_id": "REF", "ordered_at": "date"}, path=path,
                           kind="crm-orders") == {"customer_id": "ref", "ordered_at": "date"}


def test_mapping_errors_name_the_field_or_column_and_suggest() -> None:
    with pytest.raises(MappingError) as caught:
        parse_crm_orders(FIXTURES / "crm_orders_dirty_bom.txt", Settings.model_validate({}), {"orderid": "InvoiceNo"})
    assert caught.value.render() == (
        "Error [TGP-I002]: --map orderid=InvoiceNo: 'orderid' is not a crm-orders field\n"
        "Hint: Did you mean 'order_id'? Fields: order_id, customer_id, ordered_at, amount, currency, product, "
        "category, status, country, quantity, unit_price.")
    with pytest.raises(MappingError) as caught:
        parse_crm_orders(FIXTURES / "crm_orders_dirty_bom.txt", Settings.model_validate({}), {"order_id": "Invoice"})
    assert caught.value.render() == (
        "Error [TGP-I002]: --map order_id=Invoice: crm_orders_dirty_bom.txt has no column 'Invoice'\n"
        "Hint: Did you mean 'InvoiceNo'? Columns: InvoiceNo, CustomerID, InvoiceDate, Quantity, UnitPrice, Currency, "
        "Description.")


def test_missing_required_columns_suggest_map() -> None:
    path = FIXTURES / "crm_orders_semicolon.csv"
    with pytest.raises(InputError) as caught:
        parse_crm_customers(FIXTURES / "questionnaire_answers.csv", Settings.model_validate({}), {})
    assert caught.value.hint == "Name the column with --map customer_id=COLUMN."
    with pytest.raises(InputError) as caught:
        parse_crm_orders(path, Settings.model_validate({}), {"product": "amount"})
    assert caught.value.message == (
        f"{path.resolve()}: no column for 'amount', nor for 'quantity' and 'unit_price' "
        "(columns: customer_id, ordered_at, amount, product)")
    assert caught.value.hint == ("Name them with --map amount=COLUMN, or --map quantity=COLUMN "
                                 "--map unit_price=COLUMN.")


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TGPORTRAIT), *map(str, args)], capture_output=True, text=True, check=False)


def test_cli_import_with_map_prints_the_report_and_lists_the_quarantine(shared_data: Path,
                                                                        workspace: Workspace) -> None:
    result = run_cli("-w", workspace.root, "import", "crm-orders", uci(shared_data), "--map", "order_id=InvoiceNo",
                     "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"imported": 179, "duplicates": 0, "quarantined": 4,
                                         "by_type": {"cancellation": 1, "order": 178}}
    again = run_cli("-w", workspace.root, "import", "crm-orders", uci(shared_data), "--json")
    assert json.loads(again.stdout) == {"imported": 0, "duplicates": 179, "quarantined": 4, "by_type": {}}
    listed = run_cli("-w", workspace.root, "quarantine", "list", "--json")
    assert [{k: r[k] for k in ("file", "row", "reason")} for r in json.loads(listed.stdout)] == [
        {"file": str(uci(shared_data).resolve()), "row": row, "reason": "expected 8 fields, found 7"}
        for row in UCI_ROWS]


def test_cli_errors_exit_2_with_the_message(workspace: Workspace, tmp_path: Path) -> None:
    junk = tmp_path / "crm_junk.csv"
    junk.write_bytes(bytes(range(256)) * 4)
    result = run_cli("-w", workspace.root, "import", "crm-orders", junk)
    assert result.returncode == 2
    assert result.stderr == (f"Error [TGP-I001]: {junk}: unknown format: binary data, not text, JSON Lines or "
                             "Parquet\nHint: Export it as CSV (any delimiter), JSON Lines (.jsonl) or Parquet "
                             "(.parquet).\n")
    result = run_cli("-w", workspace.root, "import", "crm-orders", FIXTURES / "crm_orders_dirty_bom.txt",
                     "--map", "order_id=Invoice")
    assert result.returncode == 2
    assert result.stderr.startswith("Error [TGP-I002]: --map order_id=Invoice: crm_orders_dirty_bom.txt has no "
                                    "column 'Invoice'\nHint: Did you mean 'InvoiceNo'?")
