"""Analytics engines behind Ibis. The only module that knows DuckDB from Spark.

``connect_engine(url, scratch)`` returns an ``Engine``: DuckDB in-process for ``"duckdb"``,
Apache Spark for ``"spark://local[N]"`` or a master URL. Stages build Ibis expressions; the
engine reads Parquet into tables, executes expressions to Arrow and writes Parquet folders.
Every failure is re-raised as ``StoreError`` naming the table and carrying the compiled SQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from tgportrait.errors import EngineUnavailable, StoreError

ENGINE_KINDS = ("duckdb", "spark")


def engine_kind(url: str) -> str:
    if url == "duckdb" or url.startswith("duckdb://"):
        return "duckdb"
    if url.startswith("spark://"):
        return "spark"
    raise StoreError(f"unknown engine URL '{url}'",
                     hint='Use engine = "duckdb" or engine = "spark://local[2]" in tgportrait.toml.')


class Engine:
    """One Ibis backend plus the handful of operations the pipeline needs."""

    kind: str

    def __init__(self, backend: Any, url: str) -> None:
        self.backend = backend
        self.url = url
        self._counter = 0

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter}"

    def read_parquet(self, paths: list[Path], name: str, schema: pa.Schema | None = None) -> ir.Table:
        """A table over Parquet files; an empty list gives an empty table of ``schema``."""
        if not paths:
            if schema is None:
                raise StoreError(f"no Parquet files for table '{name}'")
            return self.from_arrow(schema.empty_table(), name)
        with self._translated(name):
            return self._read_parquet([str(p) for p in paths], self._name(name))

    def _read_parquet(self, paths: list[str], name: str) -> ir.Table:
        return self.backend.read_parquet(paths, table_name=name)

    def from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        with self._translated(name):
            return self._from_arrow(table, self._name(name))

    def _from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        return ibis.memtable(table, name=name)

    def execute(self, expr: ir.Table, name: str) -> pa.Table:
        with self._translated(name, expr):
            return self.backend.to_pyarrow(expr)

    def scalar(self, expr: ir.Scalar, name: str) -> Any:
        with self._translated(name, expr):
            return self.backend.execute(expr)

    def write_parquet(self, expr: ir.Table, folder: Path, name: str) -> pa.Table:
        """Materialise ``expr`` into ``folder/part-0.parquet`` and return it as Arrow."""
        table = self.execute(expr, name)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet", compression="zstd")
        return table

    def close(self) -> None:
        disconnect = getattr(self.backend, "disconnect", None)
        if disconnect is not None:
            disconnect()

    @contextmanager
    def _translated(self, name: str, expr: Any = None) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:  # third-party errors are translated here, at the boundary
            sql = ""
            if expr is not None:
                try:
                    sql = str(ibis.to_sql(expr, dialect=self.kind if self.kind == "duckdb" else "spark"))
                except Exception:  # noqa: BLE001 - compiling the SQL is best effort for the message
                    sql = "(could not compile)"
            message = f"the {self.kind} engine failed on table '{name}': {type(exc).__name__}: {exc}"
            if sql:
                message += f"\nSQL:\n{sql[:4000]}"
            raise StoreError(message, hint="Run with --debug for the full traceback.") from exc


class DuckDBEngine(Engine):
    kind = "duckdb"

    def _from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        self.backend.con.register(name, table)
        return self.backend.table(name)


class SparkEngine(Engine):
    kind = "spark"

    def _from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        session = self.backend._session
        frame = session.createDataFrame(table.to_pandas(types_mapper=None)) if table.num_rows else None
        if frame is None:
            return self.backend.create_table(name, schema=ibis.schema(_arrow_to_ibis(table.schema)))
        frame.createOrReplaceTempView(name)
        return self.backend.table(name)


def _arrow_to_ibis(schema: pa.Schema) -> dict[str, Any]:
    return dict(ibis.Schema.from_pyarrow(schema).items())


def _spark_session(url: str, scratch: Path) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable(
            "the Spark engine needs pyspark, which is not installed",
            hint="pip install 'tgportrait[spark]' (and a Java 17 runtime), or use engine = \"duckdb\".") from exc
    master = url.removeprefix("spark://")
    if not master.startswith("local"):
        master = "spark://" + master
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    builder = (
        SparkSession.builder.master(master).appName("tgportrait")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(scratch / "spark-warehouse"))
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch / 'derby'}")
    )
    try:
        return builder.getOrCreate()
    except Exception as exc:
        raise EngineUnavailable(f"Spark could not start for '{url}': {exc}",
                                hint="Check that Java 17 is installed (java -version).") from exc


def connect_engine(url: str, scratch: Path) -> Engine:
    kind = engine_kind(url)
    if kind == "duckdb":
        backend = ibis.duckdb.connect()
        backend.raw_sql("SET TimeZone = 'UTC'")
        return DuckDBEngine(backend, url)
    session = _spark_session(url, scratch)
    import ibis.backends.pyspark  # noqa: F401 - registers the backend lazily

    return SparkEngine(ibis.pyspark.connect(session), url)
