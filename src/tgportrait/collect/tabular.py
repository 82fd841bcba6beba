"""Read tabular files: reads CSV-like text, JSON Lines or Parquet, writes string columns plus malformed rows.

Text files may use any of , ; tab | or runs of spaces as separators and any encoding (UTF-8 with or
without BOM, UTF-16/32, cp1251, latin-1... detected with charset-normalizer). Every good row comes back as
strings with its 1-based row number (a CSV header is not a row); rows with the wrong number of fields
and JSON lines that do not parse come back as ``MalformedRow`` for the quarantine. A file that cannot be
read at all raises ``InputError``. The happy path runs pyarrow's C parser; the csv module only runs to
locate malformed rows.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import charset_normalizer
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tgportrait.collect.ingest import make_event_id
from tgportrait.errors import InputError

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
WHITESPACE = "whitespace"
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
FORMATS_HINT = "Export it as CSV (any delimiter), JSON Lines (.jsonl) or Parquet (.parquet)."
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)
_NOT_TABULAR: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?)"), (b"\xd0\xcf\x11\xe0", "an Office file (.xls?)"),
    (b"\x1f\x8b", "a gzip archive"), (b"%PDF", "a PDF document"), (b"SQLite format 3", "an SQLite database"),
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")


@dataclass(frozen=True)
class MalformedRow:
    row: int
    reason: str
    raw: str


@dataclass
class TabularFile:
    """A file's good rows as string columns, their 1-based row numbers, and its malformed rows."""

    path: Path
    format: str                         # "csv", "whitespace", "jsonl" or "parquet"
    table: pa.Table                     # one string column per file column, in file order
    row_numbers: np.ndarray             # int64, one per table row
    malformed: list[MalformedRow] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def values(self, column: str) -> pd.Series:
        """One column as a pandas string Series (missing values are NaN), indexed 0..n-1."""
        return self.table.column(column).to_pandas().reset_index(drop=True)

    def row_json(self) -> pa.ChunkedArray:
        """Each row as a JSON object ``{"column": "value" | null, ...}``, byte-identical to ``json.dumps``."""
        parts: list[Any] = ["{"]
        for index, name in enumerate(self.table.column_names):
            column = self.table.column(name)
            if pc.any(pc.match_substring_regex(column, r'["\\]')).as_py():
                column = pc.replace_substring(pc.replace_substring(column, "\\", "\\\\"), '"', '\\"')
            quoted = pc.fill_null(pc.binary_join_element_wise('"', column, '"', ""), "null")
            parts += [(", " if index else "") + json.dumps(name, ensure_ascii=False) + ": ", quoted]
        joined = pc.binary_join_element_wise(*parts, "}", "") if self.table.num_rows else pa.array([], pa.string())
        joined = joined if isinstance(joined, pa.ChunkedArray) else pa.chunked_array([joined])
        control = np.asarray(pc.match_substring_regex(joined, r"[\x00-\x1f]"), dtype=bool)
        if control.any():   # control characters inside values: let json.dumps escape them
            rows = iter(self.table.filter(pa.array(control)).to_pylist())
            replacements = [json.dumps(next(rows), ensure_ascii=False) if flag else None for flag in control.tolist()]
            joined = pc.if_else(pa.array(control), pa.array(replacements, pa.string()), joined)
        return joined


def _first_occurrence_ids(source: str, contents: pa.Array | pa.ChunkedArray) -> list[str]:
    """``make_event_id(source, content, 0)`` per row, hashing the Arrow buffers without Python strings."""
    base = hashlib.sha1(f"{source}\x1f".encode())
    ids: list[str] = []
    chunks = contents.chunks if isinstance(contents, pa.ChunkedArray) else [contents]
    for chunk in chunks:
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1].tolist()
        data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
        for start, end in zip(offsets[:-1], offsets[1:], strict=True):
            digest = base.copy()
            digest.update(data[start:end])
            digest.update(b"\x1f0")
            ids.append(digest.hexdigest()[:24])
    return ids


def row_event_ids(source: str, contents: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Deterministic id per row: ``make_event_id(source, content, occurrence among identical rows)``.

    Never the file path, so re-importing the same file under another name adds nothing, while rows that
    legitimately repeat (two identical purchases) keep distinct ids.
    """
    ids = _first_occurrence_ids(source, contents)
    codes = pc.dictionary_encode(pa.array(ids, pa.string())).indices.to_numpy(zero_copy_only=False)
    size = len(ids)
    if size == 0 or len(np.unique(codes)) == size:   # equal ids ⇔ equal contents
        return pa.array(ids, pa.string())
    order = np.argsort(codes, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(codes[order])) + 1]
    occurrence = np.empty(size, dtype=np.int64)
    occurrence[order] = np.arange(size) - np.repeat(starts, np.diff(np.r_[starts, size]))
    for index in np.flatnonzero(occurrence).tolist():
        ids[index] = make_event_id(source, contents[index].as_py(), int(occurrence[index]))
    return pa.array(ids, pa.string())


def read_tabular(path: Path) -> TabularFile:
    """Read ``path`` (format from its extension, else sniffed) into string columns; see the module doc."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})",
                         hint="Check the path and its permissions.") from exc
    if not data or data.isspace():
        raise InputError(f"{path}: the file is empty", hint="Export the data again; there are no rows to import.")
    for magic, what in _NOT_TABULAR:
        if data.startswith(magic):
            raise InputError(f"{path}: unknown format: this is {what}, not a table", hint=FORMATS_HINT)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES or data[:4] == b"PAR1":
        return _read_parquet(path, data)
    text, encoding = decode_text(path, data)
    if not text.strip():
        raise InputError(f"{path}: the file is empty", hint="Export the data again; there are no rows to import.")
    if suffix in JSON_SUFFIXES or text.lstrip()[:1] in ("{", "["):
        return _read_json_lines(path, text, encoding)
    return _read_delimited(path, text, encoding, sniff_delimiter(text), data if encoding == "utf-8" else None)


def decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """The file's text and encoding: a BOM wins, then strict UTF-8, then charset-normalizer's best guess."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), f"{encoding}-bom"
            except UnicodeDecodeError as exc:
                raise InputError(f"{path}: starts with a {encoding} byte-order mark but is not {encoding}: {exc}",
                                 hint="Save the file again as UTF-8.") from exc
    if b"\x00" not in data[:4096]:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    guess = charset_normalizer.from_bytes(data[:262_144]).best()
    if guess is None:
        raise InputError(f"{path}: unknown format: binary data, not text, JSON Lines or Parquet", hint=FORMATS_HINT)
    text = data.decode(guess.encoding, errors="replace")
    head = text[:20_000]
    if len(_CONTROL_CHARACTERS.findall(head)) > max(3, len(head) // 100):
        raise InputError(f"{path}: unknown format: binary data, not text, JSON Lines or Parquet", hint=FORMATS_HINT)
    return text, guess.encoding


def sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the most consistent number (≥ 2) of fields."""
    sample = text[:65_536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[:sample.rfind("\n")]
    lines = [line for line in sample.splitlines() if line.strip()][:200]
    scores: list[tuple[float, int, str]] = []
    for delimiter in DELIMITERS:
        fields, count = Counter(len(record) for record in csv.reader(lines, delimiter=delimiter)).most_common(1)[0]
        if fields >= 2:
            scores.append((count / len(lines), fields, delimiter))
    if scores and max(scores)[0] >= 0.5:
        return max(scores)[2]
    fields, count = Counter(len(line.split()) for line in lines).most_common(1)[0]
    if fields >= 2 and count / len(lines) >= 0.8:
        return WHITESPACE
    return max(scores)[2] if scores else ","


def _clean_names(names: list[str]) -> list[str]:
    cleaned: list[str] = []
    for index, name in enumerate(names, 1):
        base = name.strip().lstrip("\ufeff").strip() or f"column_{index}"
        unique, suffix = base, 2
        while unique in cleaned:
            unique, suffix = f"{base}_{suffix}", suffix + 1
        cleaned.append(unique)
    return cleaned


def _records(text: str, delimiter: str, quoting: bool) -> Iterator[tuple[list[str], str]]:
    """(fields, raw text) per non-blank record, with the csv module (quoted newlines stay in one record)."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        start = 0
        while start < len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end + 1
            consumed.append(text[start:end])
            yield text[start:end]
            start = end

    options: dict[str, Any] = {"delimiter": delimiter, "strict": False}
    if not quoting:
        options["quoting"] = csv.QUOTE_NONE
    for fields in csv.reader(lines(), **options):
        raw = "".join(consumed).rstrip("\r\n")
        consumed.clear()
        if fields:
            yield fields, raw


def _read_delimited(path: Path, text: str, encoding: str, delimiter: str, utf8: bytes | None) -> TabularFile:
    whitespace = delimiter == WHITESPACE
    original = text
    if whitespace:   # runs of spaces/tabs separate fields; no quoting (CDNOW-style fixed-width text)
        text = re.sub(r"[ \t]+", "\t", re.sub(r"(?m)^[ \t]+|[ \t]+$", "", text.replace("\r\n", "\n")))
    separator = "\t" if whitespace else delimiter
    text = text.lstrip("\r\n")
    records = _records(text, separator, quoting=not whitespace)
    header = next(records, None)
    if header is None:
        raise InputError(f"{path}: the file is empty", hint="Export the data again; there are no rows to import.")
    columns = _clean_names(header[0])
    invalid: list[int] = []

    def skip_invalid(row: Any) -> str:
        invalid.append(row.actual_columns)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(utf8.lstrip(b"\r\n") if utf8 is not None and not whitespace else text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=separator, quote_char=False if whitespace else '"', newlines_in_values=not whitespace,
                invalid_row_handler=skip_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in columns}, strings_can_be_null=True, null_values=[""]))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"{path}: cannot parse the file as {_describe(delimiter)}-separated text: {exc}",
                         hint=FORMATS_HINT) from exc
    if not invalid:
        return TabularFile(path, "whitespace" if whitespace else "csv", table,
                           np.arange(1, table.num_rows + 1, dtype=np.int64), [], encoding, delimiter)
    numbers: list[int] = []
    malformed: list[MalformedRow] = []
    original_lines: list[str] = []
    for number, (fields, raw) in enumerate(records, 1):
        if len(fields) == len(columns):
            numbers.append(number)
        else:
            if whitespace:   # one record per line: show the line as written, not with the separators replaced
                original_lines = original_lines or [line for line in original.splitlines() if line.strip()]
                raw = original_lines[number]
            malformed.append(MalformedRow(number, f"expected {len(columns)} fields, found {len(fields)}", raw))
    if len(numbers) != table.num_rows:   # the two parsers disagree: keep the csv module's reading
        good = [fields for fields, _ in _records(text, separator, not whitespace) if len(fields) == len(columns)]
        table = pa.table({name: pa.array([row[i] or None for row in good[1:]], pa.string())
                          for i, name in enumerate(columns)})
    return TabularFile(path, "whitespace" if whitespace else "csv", table, np.asarray(numbers, dtype=np.int64),
                       malformed, encoding, delimiter)


def _describe(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", WHITESPACE: "space"}[delimiter]


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _read_json_lines(path: Path, text: str, encoding: str) -> TabularFile:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                             hint="Fix the file, or export one JSON object per line (JSON Lines).") from exc
        lines = [(number, json.dumps(item, ensure_ascii=False)) for number, item in enumerate(items, 1)]
    else:
        lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    malformed: list[MalformedRow] = []
    for number, line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            malformed.append(MalformedRow(number, f"not valid JSON: {exc.msg} (column {exc.colno})", line))
            continue
        if not isinstance(record, dict):
            malformed.append(MalformedRow(number, f"not a JSON object but {type(record).__name__}", line))
            continue
        records.append(record)
        numbers.append(number)
    if not records:
        first = malformed[0]
        raise InputError(f"{path}: no line is a JSON object (line {first.row}: {first.reason})",
                         hint="JSON Lines files hold one {...} object per line. " + FORMATS_HINT)
    names = list(dict.fromkeys(key for record in records for key in record))
    table = pa.table({name: pa.array([_as_text(record.get(name)) for record in records], pa.string())
                      for name in names})
    return TabularFile(path, "jsonl", table, np.asarray(numbers, dtype=np.int64), malformed, encoding)


def _column_as_text(column: pa.ChunkedArray) -> pa.Array:
    kind = column.type
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array([_as_text(value) for value in column.to_pylist()], pa.string())
    return pc.cast(column.combine_chunks(), pa.string())


def _read_parquet(path: Path, data: bytes) -> TabularFile:
    try:
        source = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}",
                         hint="Write the file again (it may be truncated), or export it as CSV.") from exc
    names = _clean_names([str(name) for name in source.column_names])
    table = pa.table({name: _column_as_text(source.column(i)) for i, name in enumerate(names)})
    return TabularFile(path, "parquet", table, np.arange(1, table.num_rows + 1, dtype=np.int64))
