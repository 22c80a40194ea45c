"""Spark engine: the same pipeline steps on Apache Spark (local mode or a cluster), via PySpark.

Each step's SQL is the DuckDB text of its stage, translated by :mod:`distillwatch.engine.spark_sql`.
Tables are Spark temporary views over materialised data: ``CREATE [OR REPLACE] TABLE t AS q``
runs ``q``, checkpoints the result (``DataFrame.localCheckpoint``, kept in executor memory and
disk, lineage cut so later steps never recompute it) and names it ``t``; ``DROP TABLE`` drops
the view. Arrow moves in with ``createDataFrame`` and out with ``DataFrame.toArrow``; vectorised
Python steps run on the executors with ``DataFrame.mapInArrow``.

Ingest (JSON Lines or Parquet validation, quarantine) runs in an embedded DuckDB on the driver,
with exactly the same code as the DuckDB engine; the canonical table is written as Parquet to
``staging_dir`` and read by Spark from there (see :meth:`SparkEngine.ingest` and
``docs/scaling.md``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any, Callable

import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.engine import spark_sql

DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.constraintPropagation.enabled": "false",
}
"""Settings every session gets: UTC session time zone (as DuckDB's ``SET TimeZone='UTC'``), Arrow
transfer, and no constraint propagation: Spark 3.5/4.0's optimizer failed with ``NoSuchElementException:
key not found`` in ``UnionBase.rewriteConstraints`` on a ``UNION ALL`` of checkpointed tables (the
linking stage's per-kind artifact tables), and the constraints only serve filter inference."""

LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
}
"""Extra settings for a session this engine starts in local mode (no web UI on the driver's port)."""

QUICK_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}
"""Settings for small local runs (tests, demos): few shuffle partitions, no adaptive re-planning, and
the JVM's quick-start JIT (C1 only), which cuts a short run's time about in half on 2 cores but
slows long runs; do not use it for real data."""


class SparkEngine(Engine):
    """Apache Spark through PySpark.

    Args:
        master: Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``, ``k8s://...``);
            ``None`` uses an already active session, else ``local[*]``.
        memory_limit: driver memory for a session this engine starts (``"8GB"`` style, checked by
            :func:`distillwatch.engine.duckdb.parse_memory_limit`); also caps the embedded ingest DuckDB.
        staging_dir: where ingest writes the canonical tables as Parquet for Spark to read. On a
            cluster it must be a path every executor can read (shared file system, HDFS mount);
            default: a fresh local temporary folder, removed on :meth:`close`.
        conf: more Spark settings for a session this engine starts.
        spark: an existing ``SparkSession`` to use (never stopped by this engine).

    A session this engine starts is stopped by :meth:`close`; an active one it joined is left
    running. Table names are session-wide temporary views: two engines on one session share them.

    Raises:
        ImportError: PySpark is not installed (``pip install 'distillwatch[spark]'``).
        ValueError: ``master`` differs from the master of a session already active in this process,
            or ``memory_limit`` is not a size.
    """

    dialect = "spark"

    def __init__(self, master: str | None = None, memory_limit: str | None = None,
                 staging_dir: str | None = None, conf: dict[str, str] | None = None, spark=None):
        super().__init__()
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("the spark engine needs PySpark: pip install 'distillwatch[spark]'") from exc
        self.memory_limit = memory_limit
        active = spark or SparkSession.getActiveSession()
        self._own_session = False
        if active is not None:
            if master is not None and active.sparkContext.master != master:
                raise ValueError(f"a Spark session with master {active.sparkContext.master} is already active in "
                                 f"this process; cannot start one with master {master}")
            self.spark = active
        else:
            b = SparkSession.builder.appName("distillwatch").master(master or "local[*]")
            settings = dict(DEFAULT_CONF)
            if (master or "local").startswith("local"):
                settings.update(LOCAL_CONF)
                # Python workers on this machine run this interpreter (it has pyarrow and distillwatch)
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            if memory_limit:
                settings["spark.driver.memory"] = _spark_size(memory_limit)
            settings.update(conf or {})
            for k, v in settings.items():
                b = b.config(k, v)
            self.spark = b.getOrCreate()
            self._own_session = True
        for k, v in DEFAULT_CONF.items():  # runtime settings, also on a joined session
            if k != "spark.ui.showConsoleProgress":
                self.spark.conf.set(k, v)
        self._own_staging = staging_dir is None
        self.staging_dir = staging_dir or tempfile.mkdtemp(prefix="distillwatch-spark-")
        os.makedirs(self.staging_dir, exist_ok=True)
        self._frames: dict[str, Any] = {}

    # ---- tables ---------------------------------------------------------------------------
    def _keep(self, name: str, df) -> None:
        """Materialise ``df`` and publish it as temporary view ``name`` (replacing an older one)."""
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        old = self._frames.pop(name, None)
        self._frames[name] = df
        if old is not None:
            old.unpersist()

    def _drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        old = self._frames.pop(name, None)
        if old is not None:
            old.unpersist()

    def _sql(self, tree, params: list[Any] | None):
        text = spark_sql.generate(tree)
        return self.spark.sql(text, args=params) if params else self.spark.sql(text)

    def _execute(self, sql: str, params: list[Any] | None) -> None:
        from sqlglot import exp

        for tree in spark_sql.parse(sql):
            tree = spark_sql.rewrite(tree)
            if isinstance(tree, exp.Create) and tree.kind in ("TABLE", "VIEW"):
                if not isinstance(tree.expression, exp.Query):
                    raise spark_sql.UnsupportedSQL("CREATE TABLE without AS SELECT (the Spark engine keeps "
                                                   "tables as materialised query results)")
                self._keep(tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name,
                           self._sql(tree.expression, params))
            elif isinstance(tree, exp.Drop) and tree.kind in ("TABLE", "VIEW"):
                # sqlglot >= 30 keeps the dropped names in ``tables`` (``this`` is None)
                for t in tree.args.get("tables") or [tree.this]:
                    self._drop(t.name)
            elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
                raise spark_sql.UnsupportedSQL(f"{type(tree).__name__.upper()} (tables are immutable views on Spark)")
            else:
                self._sql(tree, params).collect()

    def _fetch_arrow(self, sql: str, params: list[Any] | None) -> pa.Table:
        trees = spark_sql.parse(sql)
        if len(trees) != 1:
            raise ValueError(f"expected one query, got {len(trees)} statements")
        return self._sql(spark_sql.rewrite(trees[0]), params).toArrow()

    def _has_table(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def _register_arrow(self, name: str, data: pa.Table) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        self._keep(name, self.spark.createDataFrame(data, schema=from_arrow_schema(data.schema)))

    def _map_batches(self, out: str, query: str, fn: Callable[[pa.RecordBatch], pa.RecordBatch],
                     schema: pa.Schema, batch_rows: int) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        df = self._sql(spark_sql.rewrite(spark_sql.parse(query)[0]), None)
        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(int(batch_rows)))

        def apply(batches):
            for batch in batches:
                res = fn(batch)
                if not res.schema.equals(schema):
                    raise ValueError(f"map_batches function returned schema {res.schema}, expected {schema}")
                yield res

        self._keep(out, df.mapInArrow(apply, from_arrow_schema(schema)))

    def ingest(self, reader: Callable, path, table: str):
        """Run an ingest ``reader`` in an embedded DuckDB on the driver and hand its table to Spark.

        Validation and quarantine are therefore byte-for-byte those of the DuckDB engine. The
        canonical table goes through Parquet in :attr:`staging_dir`, so Spark reads it in
        parallel (on a cluster ``staging_dir`` must be visible to every executor).

        Returns:
            whatever ``reader`` returns (an :class:`~distillwatch.ingest.requests.IngestResult`).
        """
        from distillwatch.engine.duckdb import DuckDBEngine

        duck = DuckDBEngine(memory_limit=self.memory_limit)
        try:
            res = reader(duck, path, table)
            target = os.path.join(self.staging_dir, f"{table}.parquet")
            if os.path.isdir(target):
                shutil.rmtree(target)
            duck.con.execute(f"COPY \"{table}\" TO '{target.replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
            for k, v in duck.timings.items():
                self.timings[k] = self.timings.get(k, 0.0) + v
        finally:
            duck.close()
        self._keep(table, self.spark.read.parquet(target))
        return res

    def close(self) -> None:
        """Drop this engine's views, stop a session it started, remove a staging folder it created."""
        for name in list(self._frames):
            try:
                self._drop(name)
            except Exception:  # noqa: BLE001 - best effort on a stopping session
                pass
        if self._own_session:
            self.spark.stop()
        if self._own_staging:
            shutil.rmtree(self.staging_dir, ignore_errors=True)


def _spark_size(text: str) -> str:
    """``"8GB"`` -> ``"8g"`` (Spark's JVM size spelling; binary units, rounded up to whole MiB).

    Raises:
        ValueError: not a size (see :func:`distillwatch.engine.duckdb.parse_memory_limit`).
    """
    import math
    import re

    from distillwatch.engine.duckdb import parse_memory_limit

    norm = parse_memory_limit(text)
    m = re.fullmatch(r"([0-9.]+)([KMGT]i?B)", norm)
    value, unit = float(m.group(1)), m.group(2)
    scale = {"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KiB": 2 ** 10, "MiB": 2 ** 20, "GiB": 2 ** 30,
             "TiB": 2 ** 40}[unit]
    return f"{math.ceil(value * scale / 2 ** 20)}m"
