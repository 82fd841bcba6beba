"""tabular: delimiters, encodings, JSON Lines, Parquet, malformed rows and unreadable files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tgportrait.collect.ingest import make_event_id
from tgportrait.collect.tabular import MalformedRow, read_tabular, row_event_ids, sniff_delimiter
from tgportrait.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures"


def test_cdnow_runs_of_spaces(shared_data: Path) -> None:
    table = read_tabular(shared_data / "orders" / "CDNOW_master.txt")
    assert (table.format, table.delimiter) == ("whitespace", "whitespace")
    assert table.columns == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert table.num_rows == 69_659
    assert table.malformed == []
    assert table.row_numbers.tolist() == list(range(1, 69_660))
    assert table.table.slice(0, 2).to_pylist() == [
        {"customer_id": "00001", "date": "19970101", "number_of_cds": "1", "dollar_value": "11.77"},
        {"customer_id": "00002", "date": "19970112", "number_of_cds": "1", "dollar_value": "12.00"},
    ]


def test_uci_malformed_rows_are_returned_with_row_number_reason_and_text(shared_data: Path) -> None:
    table = read_tabular(shared_data / "orders" / "uci_online_retail_head" / "OnlineRetail_head183.csv")
    assert (table.format, table.delimiter, table.encoding) == ("csv", ",", "utf-8")
    assert table.num_rows == 179
    assert table.malformed == [
        MalformedRow(120, "expected 8 fields, found 7",
                     "536381,21175,GIN + TONIC DIET METAL   2,12/1/10 9:41,2.1,15311,United Kingdom"),
        MalformedRow(171, "expected 8 fields, found 7",
                     "536385,22663,JUMBO BAG DOLLY GIRL DE  10,12/1/10 9:56,1.95,17420,United Kingdom"),
        MalformedRow(174, "expected 8 fields, found 7",
                     "536385,22662,LUNCH BAG DOLLY GIRL DE  10,12/1/10 9:56,1.65,17420,United Kingdom"),
        MalformedRow(178, "expected 8 fields, found 7",
                     "536387,79321,CHILLI  192,12/1/10 9:58,3.82,16029,United Kingdom"),
    ]
    numbers = table.row_numbers.tolist()
    assert numbers[118:121] == [119, 121, 122]
    assert set(numbers) | {120, 171, 174, 178} == set(range(1, 184))


def test_spaces_fixture_keeps_the_line_as_written_for_a_malformed_row() -> None:
    table = read_tabular(FIXTURES / "crm_orders_spaces.txt")
    assert table.num_rows == 3
    assert table.malformed == [MalformedRow(4, "expected 4 fields, found 5", " 00003 19970102  2   20.76 extra")]


@pytest.mark.parametrize(("name", "encoding", "delimiter", "first"), [
    ("crm_customers_cp1251.csv", "cp1251", ";", {"client_id": "C-001", "given_name": "Иван", "city": "Москва"}),
    ("crm_orders_utf16.tsv", "utf-16-le-bom", "\t", {"order_id": "A-1001", "product": "Увлажняющий крем"}),
    ("crm_orders_dirty_bom.txt", "utf-8-bom", "|", {"InvoiceNo": "5001", "Description": "WHITE HANGING HEART"}),
    ("crm_orders_semicolon.csv", "utf-8", ";", {"customer_id": "7", "product": "Крем; 50 мл"}),
])
def test_encodings_and_delimiters(name: str, encoding: str, delimiter: str, first: dict[str, str]) -> None:
    table = read_tabular(FIXTURES / name)
    assert (table.encoding, table.delimiter) == (encoding, delimiter)
    row = table.table.slice(0, 1).to_pylist()[0]
    assert {key: row[key] for key in first} == first
    assert not any(column.startswith("\ufeff") for column in table.columns)


def test_quoted_newlines_and_quotes_keep_record_numbers() -> None:
    table = read_tabular(FIXTURES / "crm_orders_semicolon.csv")
    assert table.table.column("product").to_pylist() == ["Крем; 50 мл", "Line one\nline two", 'Quote " inside']
    assert table.row_numbers.tolist() == [1, 2, 4]
    assert table.malformed == [MalformedRow(3, "expected 4 fields, found 3", "9;2024-02-03;4")]


@pytest.mark.parametrize(("text", "expected"), [
    ("a,b,c\n1,2,3\n", ","), ("a;b\n1,5;2\n", ";"), ("a\tb\n1\t2\n", "\t"), ("a|b\n1|2\n", "|"),
    (" id  date amount\n 1 20240101  3\n", "whitespace"), ("telegram_user_id\n1\n2\n", ","),
])
def test_sniff_delimiter(text: str, expected: str) -> None:
    assert sniff_delimiter(text) == expected


def test_json_lines_truncated_line_is_a_malformed_row() -> None:
    table = read_tabular(FIXTURES / "crm_orders.jsonl")
    assert table.format == "jsonl"
    assert table.columns == ["order_id", "client_id", "order_date", "revenue", "currency", "status", "extra"]
    assert table.row_numbers.tolist() == [1, 2]
    assert table.table.slice(1, 1).to_pylist() == [{
        "order_id": "J-2", "client_id": "102", "order_date": "2024-01-06T10:00:00+07:00", "revenue": "1.234,50",
        "currency": "€", "status": "Returned", "extra": '{"coupon": "NY24"}'}]
    assert table.malformed == [MalformedRow(
        4, "not valid JSON: Unterminated string starting at (column 79)",
        '{"order_id": "J-3", "client_id": 101, "order_date": 1704067200, "revenue": 5, "curr')]


def test_json_array_file(tmp_path: Path) -> None:
    path = tmp_path / "crm_orders.json"
    path.write_text(json.dumps([{"a": 1, "b": True}, {"a": 2.5, "c": None}, [1]]), encoding="utf-8")
    table = read_tabular(path)
    assert table.table.to_pylist() == [{"a": "1", "b": "true", "c": None}, {"a": "2.5", "b": None, "c": None}]
    assert table.malformed == [MalformedRow(3, "not a JSON object but list", "[1]")]


def test_parquet_typed_columns_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "crm_customers.parquet"
    pq.write_table(pa.table({
        "customer_id": pa.array([17850, None], pa.int64()),
        "spend": pa.array([2.55, 17850.0]),
        "signed_up": pa.array([datetime(2024, 1, 1, 10, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
        "vip": pa.array([True, False]),
        "tags": pa.array([["a", "b"], []]),
    }), path)
    table = read_tabular(path)
    assert table.format == "parquet"
    assert table.table.to_pylist() == [
        {"customer_id": "17850", "spend": "2.55", "signed_up": "2024-01-01 10:00:00.000000Z", "vip": "true",
         "tags": '["a", "b"]'},
        {"customer_id": None, "spend": "17850", "signed_up": None, "vip": "false", "tags": "[]"},
    ]
    sniffed = tmp_path / "no_extension"
    sniffed.write_bytes(path.read_bytes())
    assert read_tabular(sniffed).format == "parquet"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("crm_empty.csv", b"", "the file is empty"),
    ("crm_blank.csv", b"  \n\n ", "the file is empty"),
    ("crm_binary.csv", bytes(range(256)) * 8, "unknown format: binary data, not text, JSON Lines or Parquet"),
    ("crm_workbook.xlsx", b"PK\x03\x04" + b"\x00" * 40, "unknown format: this is a ZIP archive (an Excel .xlsx "
                                                         "workbook?), not a table"),
    ("crm_bad.jsonl", b"not json\nat all\n", "no line is a JSON object (line 1: not valid JSON: Expecting value "
                                             "(column 1))"),
    ("crm_truncated.parquet", b"PAR1\x00\x01", "not a readable Parquet file"),
])
def test_unreadable_files_raise_input_error(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_tabular(path)
    assert caught.value.message.startswith(f"{path}: {message}")
    assert caught.value.hint


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the file"):
        read_tabular(tmp_path / "missing.csv")


def test_row_json_is_json_dumps_of_each_row(tmp_path: Path) -> None:
    path = tmp_path / "crm_tricky.csv"
    path.write_text('id,text\n1,"back\\slash ""quoted"""\n2,"tab\there"\n3,\n4,"ünïcødé ✓"\n', encoding="utf-8")
    table = read_tabular(path)
    expected = [json.dumps(row, ensure_ascii=False) for row in table.table.to_pylist()]
    assert table.row_json().to_pylist() == expected
    assert json.loads(expected[1]) == {"id": "2", "text": "tab\there"}


def test_row_event_ids_follow_make_event_id_and_count_repeats() -> None:
    contents = pa.array(["a", "b", "a", "a", "c"])
    assert row_event_ids("crm_orders", contents).to_pylist() == [
        make_event_id("crm_orders", "a", 0), make_event_id("crm_orders", "b", 0), make_event_id("crm_orders", "a", 1),
        make_event_id("crm_orders", "a", 2), make_event_id("crm_orders", "c", 0)]
