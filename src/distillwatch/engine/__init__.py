"""Execution engines. The pipeline is a list of named SQL steps run by an :class:`Engine`.

DuckDB (embedded, the default) lives in :mod:`distillwatch.engine.duckdb`; Spark (PySpark, local or
a cluster) in :mod:`distillwatch.engine.spark`, which runs the same DuckDB SQL through
:mod:`distillwatch.engine.spark_sql`.
"""

from distillwatch.engine.base import Engine
from distillwatch.engine.duckdb import DuckDBEngine

__all__ = ["Engine", "DuckDBEngine", "get_engine"]


def get_engine(name: str = "duckdb", **kwargs) -> Engine:
    """Return an engine by short name.

    Args:
        name: ``"duckdb"`` (embedded default) or ``"spark"`` (PySpark; see :class:`~distillwatch.engine.spark.SparkEngine`).
        **kwargs: passed to the engine constructor (e.g. ``memory_limit="4GB"``, ``master="spark://host:7077"``).

    Raises:
        ValueError: unknown engine name, or a Spark-only option (:data:`SPARK_ONLY`) given for DuckDB.
    """
    if name == "duckdb":
        given = [k for k in SPARK_ONLY if kwargs.get(k) is not None]
        if given:
            raise ValueError(f"option(s) {', '.join(given)} apply only to the spark engine")
        return DuckDBEngine(**{k: v for k, v in kwargs.items() if k not in SPARK_ONLY})
    if name == "spark":
        from distillwatch.engine.spark import SparkEngine

        return SparkEngine(**kwargs)
    raise ValueError(f"unknown engine {name!r}; available: duckdb, spark")


SPARK_ONLY = ("master", "staging_dir", "conf", "spark")
"""Engine options that only the Spark engine takes; the DuckDB engine ignores them when unset (None)."""
