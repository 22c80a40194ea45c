"""Execution engines. The pipeline is a list of named SQL steps run by an :class:`Engine`.

DuckDB (embedded, the default) lives in :mod:`distillwatch.engine.duckdb`.
"""

from distillwatch.engine.base import Engine
from distillwatch.engine.duckdb import DuckDBEngine

__all__ = ["Engine", "DuckDBEngine", "get_engine"]


def get_engine(name: str = "duckdb", **kwargs) -> Engine:
    """Return an engine by short name.

    Args:
        name: ``"duckdb"`` (embedded default).
        **kwargs: passed to the engine constructor (e.g. ``memory_limit="4GB"``).

    Raises:
        ValueError: unknown engine name.
    """
    if name == "duckdb":
        return DuckDBEngine(**kwargs)
    raise ValueError(f"unknown engine {name!r}; available: duckdb")
