"""Collect: importers that turn outside data into canonical events (plus the live bot, later).

``IMPORTERS`` is the one registry of file importers; the CLI's ``tgportrait import KIND`` and
the library's ``import_file`` both read it. A plugin adds an importer by adding an entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from tgportrait.collect.ingest import ImportReport, ParsedInput, QuarantineRow, ingest, make_event_id
from tgportrait.config import Settings
from tgportrait.errors import InputError

if TYPE_CHECKING:
    from tgportrait.workspace import Workspace

Parser = Callable[[Path, Settings, dict[str, str]], ParsedInput]


@dataclass(frozen=True)
class Importer:
    kind: str           # the CLI name: telegram-export, crm-customers, ...
    module: str         # module holding the parser (imported lazily)
    function: str
    description: str

    def parser(self) -> Parser:
        parser: Parser = getattr(import_module(self.module), self.function)
        return parser


IMPORTERS: dict[str, Importer] = {
    importer.kind: importer for importer in (
        Importer("telegram-export", "tgportrait.collect.telegram_export", "parse_telegram_export",
                 "Telegram Desktop JSON export (result.json): one chat or the full account"),
        Importer("crm-customers", "tgportrait.collect.crm", "parse_crm_customers",
                 "CRM customers: CSV (any delimiter/encoding), JSON Lines or Parquet"),
        Importer("crm-orders", "tgportrait.collect.crm", "parse_crm_orders",
                 "CRM orders, cancellations and refunds: CSV, JSON Lines or Parquet"),
        Importer("questionnaire", "tgportrait.collect.questionnaire", "parse_questionnaire",
                 "Questionnaire answers keyed by Telegram user id: CSV, JSON Lines or Parquet"),
    )
}


def import_file(workspace: Workspace, kind: str, path: Path, mapping: dict[str, str] | None = None) -> ImportReport:
    """Parse ``path`` with the importer ``kind`` and store the result; nothing is stored if it cannot be read."""
    if kind not in IMPORTERS:
        raise InputError(f"unknown import kind '{kind}'", hint=f"Use one of: {', '.join(IMPORTERS)}.")
    if not path.exists():
        raise InputError(f"{path}: no such file", hint="Check the path.")
    parsed = IMPORTERS[kind].parser()(path, workspace.settings, dict(mapping or {}))
    return ingest(workspace, parsed)


__all__ = ["IMPORTERS", "ImportReport", "Importer", "ParsedInput", "QuarantineRow", "import_file", "ingest",
           "make_event_id"]
