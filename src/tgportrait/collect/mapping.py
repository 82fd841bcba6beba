"""Column mappings for tabular imports: ``--map FIELD=COLUMN`` options and mapping files."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tgportrait.errors import MappingError


def parse_mapping_options(options: tuple[str, ...] | list[str], mapping_file: Path | None = None) -> dict[str, str]:
    """``("order_id=InvoiceNo", ...)`` plus an optional YAML/JSON file → ``{field: column}``."""
    mapping: dict[str, str] = {}
    if mapping_file is not None:
        try:
            text = mapping_file.read_text(encoding="utf-8")
            loaded = json.loads(text) if mapping_file.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise MappingError(f"{mapping_file}: cannot read the mapping file: {exc}",
                               hint="Write one 'field: column' pair per line (YAML) or a JSON object.") from exc
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise MappingError(f"{mapping_file}: a mapping file must hold 'field: column' pairs",
                               hint="Example line: order_id: InvoiceNo")
        mapping.update({str(k): v for k, v in loaded.items()})
    for option in options:
        field, separator, column = option.partition("=")
        if not separator or not field.strip() or not column.strip():
            raise MappingError(f"--map '{option}' is not FIELD=COLUMN", hint="Example: --map order_id=InvoiceNo")
        mapping[field.strip()] = column.strip()
    return mapping
