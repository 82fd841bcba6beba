"""Storage: the analytics engine (Ibis over DuckDB or Spark), the Parquet lake, the state store."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tgportrait.store.engine import Engine, connect_engine
    from tgportrait.store.lake import Lake
    from tgportrait.store.state import State, connect_state

__all__ = ["Engine", "Lake", "State", "connect_engine", "connect_state"]
_HOMES = {"Engine": "engine", "connect_engine": "engine", "Lake": "lake", "State": "state", "connect_state": "state"}


def __getattr__(name: str) -> Any:
    """Import the store's parts on first use: the engine pulls in Ibis, which a CLI command may not need."""
    if name in _HOMES:
        return getattr(import_module(f"tgportrait.store.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
