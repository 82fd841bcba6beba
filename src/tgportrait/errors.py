"""One error hierarchy for tgportrait: every error has a stable code, a message and a hint.

Messages say what happened and where; hints say what to do next. The CLI prints
``Error [CODE]: message`` and ``Hint: ...`` and exits with status 2.
"""

from __future__ import annotations


class TgPortraitError(Exception):
    """Root of every error tgportrait raises on purpose."""

    code = "TGP-E000"
    transient = False

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def render(self) -> str:
        text = f"Error [{self.code}]: {self.message}"
        if self.hint:
            text += f"\nHint: {self.hint}"
        return text


class ConfigError(TgPortraitError):
    """The workspace or its settings are missing or invalid."""

    code = "TGP-C001"


class WorkspaceNotFound(ConfigError):
    """No tgportrait.toml where one was expected."""

    code = "TGP-C002"


class InputError(TgPortraitError):
    """An input file cannot be read at all (nothing was stored)."""

    code = "TGP-I001"


class MappingError(InputError):
    """A column mapping names a field or column that does not exist."""

    code = "TGP-I002"


class RuleError(TgPortraitError):
    """A rule (label, segment, screen) does not parse or does not check."""

    code = "TGP-R001"


class TaxonomyError(TgPortraitError):
    """A taxonomy file is invalid."""

    code = "TGP-T001"


class StoreError(TgPortraitError):
    """The engine, the lake or the state store failed."""

    code = "TGP-S001"


class EngineUnavailable(StoreError):
    """An optional engine (Spark) is not installed or cannot start."""

    code = "TGP-S002"


class NotFound(TgPortraitError):
    """A person, run or object asked for does not exist."""

    code = "TGP-N001"


class NoRunYet(NotFound):
    """Nothing has been built yet."""

    code = "TGP-N002"
