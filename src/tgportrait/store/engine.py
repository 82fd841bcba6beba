"""Analytics engines behind Ibis. The only module that knows DuckDB from Spark.

``connect_engine(url, scratch)`` returns an ``Engine``: DuckDB in-process for ``"duckdb"``,
Apache Spark for ``"spark://local[N]"`` or a master URL. Stages build Ibis expressions; the
engine reads Parquet into tables, executes expressions to Arrow and writes Parquet folders.
Every failure is re-raised as ``StoreError`` naming the table and carrying the compiled SQL.

Canonical Arrow output. ``execute``, ``scalar`` and ``write_parquet`` return the same Arrow
types on both engines, derived from the expression's Ibis schema, so results compare row by row:

============================  =========================================================
Ibis type                     Arrow type returned
============================  =========================================================
any integer                   ``int64`` (nulls stay nulls; never a float)
any floating                  ``float64``
string, JSON, UUID            ``string`` (never ``large_string``)
binary                        ``binary``
timestamp (any time zone)     ``timestamp[us]`` without a time zone, holding UTC
date                          ``date32``
time                          ``time64[us]``
boolean, decimal, null        unchanged
array / struct / map          the same rules applied to their items
============================  =========================================================

``from_arrow`` applies the same rules to its input, so a table goes in and comes out unchanged.
Both engines run with the session time zone UTC.

Spark specifics. One Spark session serves the whole process (Spark allows one per JVM and takes
seconds to start): ``connect_engine`` reuses it, ``Engine.close`` only drops the views that engine
registered, and ``stop_spark_session`` ends it. Arrow moves between Python and Spark directly
(``createDataFrame(pyarrow.Table)``, ``DataFrame.toArrow``), never through pandas. Timestamps are
Spark ``TIMESTAMP`` (instants shown in UTC) everywhere: Parquet without a time zone is read as
``TIMESTAMP`` rather than ``TIMESTAMP_NTZ`` and written back as ``TIMESTAMP_NTZ``, so the files
read by pyarrow hold naive UTC on both engines. ``write_parquet`` writes from Spark itself (mode
overwrite, several part files), then reads the folder back into Arrow on the driver: the returned
table must fit in the driver's memory. The session starts with Splink's ``scala-udf-similarity`` jar
(shipped inside the splink package) on ``spark.jars``, so ``Engine.splink_database`` can run Splink's
string comparisons on Spark.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tgportrait.errors import ConfigError, EngineUnavailable, StoreError

ENGINE_KINDS = ("duckdb", "spark")
SPARK_START_HINT = "Check that Java 17 is installed (java -version), or use engine = \"duckdb\"."

_TABLE_NUMBERS = itertools.count(1)  # process-wide: Spark views of all engines share one session


def engine_kind(url: str) -> str:
    if url == "duckdb" or url.startswith("duckdb://"):
        return "duckdb"
    if url.startswith("spark://"):
        return "spark"
    raise StoreError(f"unknown engine URL '{url}'",
                     hint='Use engine = "duckdb" or engine = "spark://local[2]" in tgportrait.toml.')


# ---- canonical Arrow types ------------------------------------------------------------------
def canonical_arrow_type(arrow_type: pa.DataType) -> pa.DataType:
    """The Arrow type both engines return for ``arrow_type`` (see the module docstring)."""
    if isinstance(arrow_type, pa.ExtensionType):
        return canonical_arrow_type(arrow_type.storage_type)
    if pa.types.is_dictionary(arrow_type):
        return canonical_arrow_type(arrow_type.value_type)
    if pa.types.is_integer(arrow_type):
        return pa.int64()
    if pa.types.is_floating(arrow_type):
        return pa.float64()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type) or pa.types.is_binary_view(arrow_type):
        return pa.binary()
    if pa.types.is_timestamp(arrow_type):
        return pa.timestamp("us")
    if pa.types.is_date(arrow_type):
        return pa.date32()
    if pa.types.is_time(arrow_type):
        return pa.time64("us")
    if pa.types.is_duration(arrow_type):
        return pa.duration("us")
    if pa.types.is_map(arrow_type):
        return pa.map_(canonical_arrow_type(arrow_type.key_type), canonical_arrow_type(arrow_type.item_type))
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_list_view(arrow_type):
        return pa.list_(arrow_type.value_field.with_type(canonical_arrow_type(arrow_type.value_type)))
    if pa.types.is_struct(arrow_type):
        return pa.struct([field.with_type(canonical_arrow_type(field.type)) for field in arrow_type])
    return arrow_type


def canonical_schema(schema: pa.Schema | ibis.Schema) -> pa.Schema:
    """The canonical Arrow schema for an Arrow or Ibis schema (no metadata)."""
    arrow = schema.to_pyarrow() if isinstance(schema, ibis.Schema) else schema
    return pa.schema([pa.field(field.name, canonical_arrow_type(field.type)) for field in arrow])


def to_canonical(table: pa.Table, schema: pa.Schema | ibis.Schema | None = None) -> pa.Table:
    """``table`` cast to the canonical form of ``schema`` (default: of its own schema), columns by name."""
    target = canonical_schema(table.schema if schema is None else schema)
    if table.schema.names != target.names:
        raise StoreError(f"result columns {table.schema.names} do not match the expected {target.names}")
    columns = []
    for field, column in zip(target, table.columns, strict=True):
        if column.type != field.type:
            column = pc.cast(column, options=pc.CastOptions(field.type, allow_time_truncate=True))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)


class Engine:
    """One Ibis backend plus the handful of operations the pipeline needs."""

    kind: str

    def __init__(self, backend: Any, url: str) -> None:
        self.backend = backend
        self.url = url

    def _name(self, prefix: str) -> str:
        """A table name unique in this process: ``events`` becomes ``events_7``."""
        return f"{re.sub(r'[^0-9A-Za-z_]', '_', prefix)}_{next(_TABLE_NUMBERS)}"

    def read_parquet(self, paths: list[Path], name: str, schema: pa.Schema | None = None) -> ir.Table:
        """A table over Parquet files (parts may lack columns); with ``schema``, exactly its columns and types.

        An empty list gives an empty table of ``schema``.
        """
        if not paths:
            if schema is None:
                raise StoreError(f"no Parquet files for table '{name}'",
                                 hint="Pass the table's schema so an empty lake reads as an empty table.")
            return self.from_arrow(schema.empty_table(), name)
        with self._translated(name):
            table = self._read_parquet([str(p) for p in paths], self._name(name))
            return table if schema is None else _conform(table, canonical_schema(schema))

    def _read_parquet(self, paths: list[str], name: str) -> ir.Table:
        raise NotImplementedError

    def from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        """A table over an Arrow table (converted to the canonical types first)."""
        with self._translated(name):
            return self._from_arrow(to_canonical(table), self._name(name))

    def _from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        raise NotImplementedError

    def execute(self, expr: ir.Table, name: str) -> pa.Table:
        """Run ``expr`` and return its rows as a canonical Arrow table."""
        with self._translated(name, expr):
            return to_canonical(self._to_arrow(expr), expr.schema())

    def _to_arrow(self, expr: ir.Table) -> pa.Table:
        raise NotImplementedError

    def scalar(self, expr: ir.Scalar, name: str) -> Any:
        """Run a scalar expression and return a plain Python value (int, float, str, datetime, None...)."""
        table = self.execute(expr.as_table(), name)
        return table.column(0)[0].as_py() if table.num_rows else None

    def write_parquet(self, expr: ir.Table, folder: Path, name: str) -> pa.Table:
        """Replace the Parquet parts in ``folder`` with the rows of ``expr``; return them as canonical Arrow."""
        with self._translated(name, expr):
            written = self._write_parquet(expr, folder)
            if written is None:  # the engine wrote the files itself: read them back
                written = ds.dataset(str(folder), format="parquet").to_table().select(expr.schema().names)
            return to_canonical(written, expr.schema())

    def _write_parquet(self, expr: ir.Table, folder: Path) -> pa.Table | None:
        """Write the parts; return the rows when they are already in memory."""
        raise NotImplementedError

    def materialise(self, expr: ir.Table, folder: Path, name: str) -> ir.Table:
        """Write ``expr`` to Parquet parts in ``folder`` without holding it in memory; return a table over them.

        This is the path for large tables (events, activity): the engine streams the rows to disk.
        """
        with self._translated(name, expr):
            self._stream_parquet(expr, folder)
        return self.read_parquet(sorted(folder.glob("*.parquet")), name)

    def _stream_parquet(self, expr: ir.Table, folder: Path) -> None:
        written = self._write_parquet(expr, folder)
        del written

    def close(self) -> None:
        raise NotImplementedError

    def splink_database(self) -> AbstractContextManager[Any]:
        """A Splink ``DatabaseAPI`` that runs on this engine for the length of a ``with`` block."""
        raise NotImplementedError

    def compiled_sql(self, expr: ir.Expr) -> str:
        """The SQL this engine runs for ``expr`` (for error messages and debugging)."""
        return str(self.backend.compile(expr))

    @contextmanager
    def _translated(self, name: str, expr: Any = None) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:  # third-party errors are translated here, at the boundary
            message = f"the {self.kind} engine failed on table '{name}': {type(exc).__name__}: {exc}"
            if expr is not None:
                try:
                    sql = self.compiled_sql(expr)
                except Exception:  # noqa: BLE001 - compiling the SQL is best effort for the message
                    sql = "(could not compile)"
                message += f"\nSQL:\n{sql[:4000]}"
            raise StoreError(message, hint="Run with --debug for the full traceback.") from exc


def _conform(table: ir.Table, schema: pa.Schema) -> ir.Table:
    """``table`` with exactly the columns of ``schema``: cast where types differ, null where missing."""
    wanted = ibis.Schema.from_pyarrow(schema)
    present = table.schema()
    columns = []
    for column_name, dtype in wanted.items():
        if column_name not in present:
            columns.append(ibis.null(dtype).name(column_name))
        elif present[column_name] != dtype:
            columns.append(table[column_name].cast(dtype).name(column_name))
        else:
            columns.append(table[column_name])
    return table.select(columns)


def _canonical_cast(column: ir.Value) -> ir.Value:
    """Integers as int64 and floats as float64 in files written by the engine itself."""
    dtype = column.type()
    if dtype.is_integer() and not dtype.is_int64():
        return column.cast("int64")
    if dtype.is_floating() and not dtype.is_float64():
        return column.cast("float64")
    return column


class DuckDBEngine(Engine):
    kind = "duckdb"

    def _read_parquet(self, paths: list[str], name: str) -> ir.Table:
        return self.backend.read_parquet(paths, table_name=name, union_by_name=True)

    def _from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        self.backend.con.register(name, table)
        return self.backend.table(name)

    def _to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.backend.to_pyarrow(expr)

    def _write_parquet(self, expr: ir.Table, folder: Path) -> pa.Table:
        table = to_canonical(self._to_arrow(expr), expr.schema())
        folder.mkdir(parents=True, exist_ok=True)
        for old_part in folder.glob("*.parquet"):
            old_part.unlink()
        pq.write_table(table, folder / "part-0.parquet", compression="zstd")
        return table

    def _stream_parquet(self, expr: ir.Table, folder: Path) -> None:
        """DuckDB's own COPY: rows go to disk in row groups, never all in memory.

        DuckDB's Parquet types are already the canonical ones (BIGINT→int64, DOUBLE→float64,
        VARCHAR→string, TIMESTAMP→timestamp[us] naive, DATE→date32).
        """
        folder.mkdir(parents=True, exist_ok=True)
        for old_part in folder.glob("*.parquet"):
            old_part.unlink()
        canonical = expr.select(**{name: _canonical_cast(expr[name]) for name in expr.columns})
        self.backend.to_parquet(canonical, folder / "part-0.parquet", compression="zstd")

    def close(self) -> None:
        self.backend.disconnect()

    @contextmanager
    def splink_database(self) -> Iterator[Any]:
        """Splink on an in-process DuckDB connection of its own (work tables stay out of this engine), closed after."""
        import duckdb
        from splink import DuckDBAPI

        connection = duckdb.connect()
        try:
            yield DuckDBAPI(connection)
        finally:
            connection.close()


class SparkEngine(Engine):
    kind = "spark"

    def __init__(self, backend: Any, url: str) -> None:
        super().__init__(backend, url)
        self._views: list[str] = []  # dropped by close(): the session outlives this engine

    @property
    def session(self) -> Any:
        return self.backend._session

    def _register(self, frame: Any, name: str) -> ir.Table:
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        return self.backend.table(name)

    def _read_parquet(self, paths: list[str], name: str) -> ir.Table:
        return self._register(self.session.read.option("mergeSchema", "true").parquet(*paths), name)

    def _from_arrow(self, table: pa.Table, name: str) -> ir.Table:
        return self._register(self.session.createDataFrame(table), name)

    def _frame(self, expr: ir.Table) -> Any:
        self.backend._run_pre_execute_hooks(expr)  # registers memtables (through Arrow, see _spark_backend_class)
        return self.session.sql(self.backend.compile(expr))

    def _to_arrow(self, expr: ir.Table) -> pa.Table:
        return self._frame(expr).toArrow()

    def _write_parquet(self, expr: ir.Table, folder: Path) -> None:
        """Spark writes the parts itself (mode overwrite replaces the folder)."""
        from pyspark.sql import functions
        from pyspark.sql import types as spark_types

        frame = self._frame(expr)
        casts = {
            spark_types.TimestampType: spark_types.TimestampNTZType(),  # naive UTC in the file
            spark_types.IntegerType: spark_types.LongType(),
            spark_types.ShortType: spark_types.LongType(),
            spark_types.ByteType: spark_types.LongType(),
            spark_types.FloatType: spark_types.DoubleType(),
        }
        columns = []
        for field in frame.schema.fields:
            column = functions.col(f"`{field.name}`")
            target = casts.get(type(field.dataType))
            columns.append(column.cast(target).alias(field.name) if target is not None else column)
        frame.select(*columns).write.mode("overwrite").option("compression", "zstd").parquet(str(folder))

    def close(self) -> None:
        """Drop this engine's views; the process-wide Spark session stays up (see ``stop_spark_session``)."""
        if _is_running(self.session):
            for view in self._views:
                self.session.catalog.dropTempView(view)
        self._views.clear()

    @contextmanager
    def splink_database(self) -> Iterator[Any]:
        """Splink's ``SparkAPI`` on this session; its work tables are persisted views, dropped and uncached after.

        Splink's string similarity functions (jaro_winkler, damerau_levenshtein...) come from the
        ``scala-udf-similarity`` jar that ``spark_session`` puts on ``spark.jars``.
        """
        from splink.backends.spark import SparkAPI

        catalog = self.session.catalog
        before = {table.name for table in catalog.listTables() if table.isTemporary}
        database = SparkAPI(spark_session=self.session, break_lineage_method="persist")
        if not catalog.functionExists("jaro_winkler"):
            raise EngineUnavailable(
                "Splink's string similarity functions are not registered in this Spark session",
                hint="Start Spark with Splink's jar on spark.jars (splink.backends.spark.similarity_jar_location()); "
                     "tgportrait's own session does this.")
        try:
            yield database
        finally:
            if _is_running(self.session):
                for table in catalog.listTables():
                    if table.isTemporary and table.name.startswith("__splink__") and table.name not in before:
                        catalog.dropTempView(table.name)


# ---- Spark session (one per process) ----------------------------------------------------------
_spark_lock = threading.Lock()
_spark_sessions: dict[str, Any] = {}  # master URL -> SparkSession; Spark allows one per process


def spark_master(url: str) -> str:
    """``spark://local[2]`` -> ``local[2]``; ``spark://host:7077`` stays as it is."""
    master = url.removeprefix("spark://")
    return master if master.startswith("local") else "spark://" + master


def _is_running(session: Any) -> bool:
    return session.sparkContext._jsc is not None


def spark_session(url: str, scratch: Path) -> Any:
    """The process's Spark session for ``url``, started on first use (takes several seconds)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable(
            "the Spark engine needs pyspark, which is not installed",
            hint="pip install 'tgportrait[spark]' (and a Java 17 runtime), or use engine = \"duckdb\".") from exc
    master = spark_master(url)
    with _spark_lock:
        for running_master, session in list(_spark_sessions.items()):
            if not _is_running(session):  # stopped behind our back
                del _spark_sessions[running_master]
            elif running_master != master:
                raise EngineUnavailable(
                    f"this process already runs Spark on '{running_master}' and cannot also use '{master}'",
                    hint="Use one engine URL per process (Spark allows one session per process).")
        if master in _spark_sessions:
            return _spark_sessions[master]
        local = master.startswith("local")
        if local:  # the JVM and the Python workers it starts read these from the environment
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this venv's pyarrow/pandas
        builder = (
            SparkSession.builder.master(master).appName("tgportrait")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.log.level", "ERROR")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.ansi.enabled", "true")
            .config("spark.sql.warehouse.dir", str(scratch / "spark-warehouse"))
            .config("spark.driver.extraJavaOptions",
                    f"-Dderby.system.home={scratch / 'derby'} -Duser.timezone=UTC")
            .config("spark.jars", _splink_similarity_jar())
        )
        if local:  # a cluster keeps its own spark-defaults.conf for these
            builder = (
                builder.config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.driver.memory", "2g")
            )
        try:
            session = builder.getOrCreate()
        except Exception as exc:
            raise EngineUnavailable(f"Spark could not start for '{url}': {type(exc).__name__}: {exc}",
                                    hint=SPARK_START_HINT) from exc
        _quiet_pyspark_error_logs()
        _spark_sessions[master] = session
        return session


def _splink_similarity_jar() -> str:
    """Splink's ``scala-udf-similarity`` jar for this Spark version (shipped inside the splink package)."""
    from splink.backends.spark import similarity_jar_location

    return str(similarity_jar_location())


def _quiet_pyspark_error_logs() -> None:
    """pyspark logs every failed query to stderr as JSON; the engine re-raises each one as ``StoreError``."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # pyspark before 4.0 has no such loggers
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def stop_spark_session() -> None:
    """Stop the process's Spark session, if one runs (engines using it stop working)."""
    with _spark_lock:
        for session in _spark_sessions.values():
            session.stop()
        _spark_sessions.clear()


@functools.cache
def _spark_backend_class() -> Any:
    """Ibis' pyspark backend, registering memtables through Arrow rather than pandas (ints with nulls stay ints)."""
    from ibis.backends.pyspark import Backend

    if getattr(ibis.options, "pyspark", None) is None:
        Backend.register_options()  # what ``ibis.pyspark`` does on first use; the compiler reads these options

    class ArrowMemtableBackend(Backend):  # type: ignore[misc]
        def _register_in_memory_table(self, op: Any) -> None:
            arrow = to_canonical(op.data.to_pyarrow(op.schema))
            self._session.createDataFrame(arrow).createOrReplaceTempView(op.name)

    return ArrowMemtableBackend


def _checked_size(value: str) -> str:
    """A memory size DuckDB understands ("50%", "8GB", "512MB"); anything else is a configuration error."""
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(%|[KMGT]i?B|B)\s*", value, flags=re.IGNORECASE):
        raise ConfigError(f"engine_memory_limit = {value!r} is not a memory size",
                          hint='Write a share of the machine\'s memory ("50%") or a size ("8GB", "512MB").')
    return value.strip()


def _spark_backend(session: Any) -> Any:
    return _spark_backend_class()().connect(session)


def connect_engine(url: str, scratch: Path, *, memory_limit: str | None = None) -> Engine:
    """The engine of ``url``. DuckDB spills to ``scratch/duckdb`` beyond ``memory_limit`` (e.g. "50%", "8GB")."""
    kind = engine_kind(url)
    if kind == "duckdb":
        backend = ibis.duckdb.connect()
        backend.raw_sql("SET TimeZone = 'UTC'")
        if memory_limit:
            backend.raw_sql(f"SET memory_limit = '{_checked_size(memory_limit)}'")
            scratch.mkdir(parents=True, exist_ok=True)   # DuckDB makes its spill folder, but not the parents
            backend.raw_sql(f"SET temp_directory = '{str(scratch / 'duckdb').replace(chr(39), chr(39) * 2)}'")
        return DuckDBEngine(backend, url)
    return SparkEngine(_spark_backend(spark_session(url, scratch)), url)


__all__ = ["ENGINE_KINDS", "Engine", "canonical_arrow_type", "canonical_schema", "connect_engine", "spark_session",
           "stop_spark_session", "to_canonical"]
