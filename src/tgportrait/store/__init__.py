"""Storage: the analytics engine (Ibis over DuckDB or Spark), the Parquet lake, the state store."""

from tgportrait.store.engine import Engine, connect_engine
from tgportrait.store.lake import Lake
from tgportrait.store.state import State, connect_state

__all__ = ["Engine", "Lake", "State", "connect_engine", "connect_state"]
