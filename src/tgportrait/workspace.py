"""A workspace: one folder holding ``tgportrait.toml``, the lake, the state database and the taxonomy.

``Workspace.open`` resolves the folder (``--workspace`` > env ``TGPORTRAIT_WORKSPACE`` > current
directory), loads the settings once and opens the lake, state store and engine lazily.
"""

from __future__ import annotations

import os
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tgportrait.config import CONFIG_FILE_NAME, INDUSTRIES, Settings, load_settings
from tgportrait.errors import ConfigError, WorkspaceNotFound

if TYPE_CHECKING:  # the store (Ibis, DuckDB, SQLAlchemy) is imported when a workspace first uses it
    from tgportrait.store.engine import Engine
    from tgportrait.store.lake import Lake
    from tgportrait.store.state import State

WORKSPACE_ENV = "TGPORTRAIT_WORKSPACE"

CONFIG_TEMPLATE = """\
# tgportrait workspace settings. Every setting is documented in docs/settings.md.
# Environment variables TGPORTRAIT_<NAME> (TGPORTRAIT_<SECTION>_<NAME>) override this file.

engine = "duckdb"                 # or "spark://local[2]", or a Spark master URL
lake_path = "data"                # Parquet lake, relative to this folder
state_url = "sqlite:///state.db"  # or postgresql+psycopg://user@host/db
timezone = "{timezone}"
currency = "{currency}"
industry = "{industry}"
taxonomy_path = "taxonomy.yaml"
portrait_fresh_days = 7

[usd_rates]                       # USD per one unit of each currency
{rates}

[telegram]
api_base_url = "https://api.telegram.org"
# bot_token and webhook_secret: set TGPORTRAIT_TELEGRAM_BOT_TOKEN / _WEBHOOK_SECRET instead of writing them here
"""


def resolve_root(workspace: str | os.PathLike[str] | None) -> Path:
    if workspace is not None:
        return Path(workspace).expanduser().resolve()
    if os.environ.get(WORKSPACE_ENV):
        return Path(os.environ[WORKSPACE_ENV]).expanduser().resolve()
    return Path.cwd().resolve()


def default_taxonomy_text(industry: str) -> str:
    folder = resources.files("tgportrait.defaults").joinpath("taxonomy")
    specific = folder.joinpath(f"{industry}.yaml")
    chosen = specific if specific.is_file() else folder.joinpath("ecommerce.yaml")
    return chosen.read_text(encoding="utf-8")


class Workspace:
    """Everything one workspace holds, opened lazily."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings

    @classmethod
    def open(cls, workspace: str | os.PathLike[str] | None = None, *, must_exist: bool = True) -> Workspace:
        root = resolve_root(workspace)
        if must_exist and not (root / CONFIG_FILE_NAME).exists():
            raise WorkspaceNotFound(
                f"no {CONFIG_FILE_NAME} in {root}",
                hint="Create a workspace with 'tgportrait init DIR', or pass --workspace DIR "
                     f"(or set {WORKSPACE_ENV}).")
        return cls(root, load_settings(root))

    @classmethod
    def init(cls, root: Path, industry: str = "beauty", *, timezone: str = "UTC",
             currency: str = "USD", force: bool = False) -> Workspace:
        if industry not in INDUSTRIES:
            raise ConfigError(f"unknown industry '{industry}'", hint=f"Use one of: {', '.join(INDUSTRIES)}.")
        root = root.expanduser().resolve()
        config = root / CONFIG_FILE_NAME
        if config.exists() and not force:
            raise ConfigError(f"{config} already exists", hint="Use another folder, or pass --force to rewrite it.")
        root.mkdir(parents=True, exist_ok=True)
        from tgportrait.config import DEFAULT_USD_RATES

        rates = "\n".join(f"{code} = {rate}" for code, rate in DEFAULT_USD_RATES.items())
        config.write_text(CONFIG_TEMPLATE.format(timezone=timezone, currency=currency, industry=industry,
                                                 rates=rates), encoding="utf-8")
        taxonomy = root / "taxonomy.yaml"
        if not taxonomy.exists() or force:
            taxonomy.write_text(default_taxonomy_text(industry), encoding="utf-8")
        workspace = cls(root, load_settings(root))
        workspace.lake.root.mkdir(parents=True, exist_ok=True)
        _ = workspace.state
        from tgportrait.clean.erasure import ensure_tombstone_key

        ensure_tombstone_key(root)
        return workspace

    @property
    def taxonomy_path(self) -> Path:
        return self.root / self.settings.taxonomy_path

    @cached_property
    def lake(self) -> Lake:
        from tgportrait.store.lake import Lake

        return Lake(self.root / self.settings.lake_path)

    @cached_property
    def state(self) -> State:
        from tgportrait.store.state import State, connect_state

        return State(connect_state(self.settings.state_url, self.root))

    @cached_property
    def engine(self) -> Engine:
        from tgportrait.store.engine import connect_engine

        return connect_engine(self.settings.engine, self.root / ".scratch",
                              memory_limit=self.settings.engine_memory_limit)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.close()
            del self.__dict__["engine"]
        if "state" in self.__dict__:
            self.state.engine.dispose()
