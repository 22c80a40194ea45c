"""DuckDB engine: the embedded default (https://duckdb.org)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import duckdb
import pyarrow as pa

from distillwatch.engine.base import Engine


class DuckDBEngine(Engine):
    """Embedded DuckDB with a memory cap and spilling to a temporary directory.

    Args:
        path: database file, or ``":memory:"`` (default).
        memory_limit: DuckDB ``memory_limit`` setting, e.g. ``"8GB"``; ``None`` keeps DuckDB's default
            (80 % of RAM). Work beyond the cap spills to ``temp_directory``.
        threads: worker threads; ``None`` means all cores.
        temp_directory: where spilled data goes; defaults to a fresh temporary folder.

    The session time zone is UTC, so every ``TIMESTAMPTZ`` is rendered in UTC.
    """

    dialect = "duckdb"

    def __init__(self, path: str = ":memory:", memory_limit: str | None = None, threads: int | None = None,
                 temp_directory: str | None = None):
        super().__init__()
        self.path, self.memory_limit, self.threads, self.temp_directory = path, memory_limit, threads, temp_directory
        self.con = duckdb.connect(path)
        self.con.execute("SET TimeZone='UTC'")
        self.con.execute("SET enable_progress_bar=false")
        if memory_limit:
            self.con.execute(f"SET memory_limit='{memory_limit}'")
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        tmp = temp_directory or tempfile.mkdtemp(prefix="distillwatch-spill-")
        os.makedirs(tmp, exist_ok=True)
        self.con.execute(f"SET temp_directory='{tmp}'")

    def _execute(self, sql: str, params: list[Any] | None) -> None:
        self.con.execute(sql, params or [])

    def _fetch_arrow(self, sql: str, params: list[Any] | None) -> pa.Table:
        if params:
            return self.con.execute(sql, params).to_arrow_table()
        return self.con.sql(sql).to_arrow_table()

    def _register_arrow(self, name: str, data: pa.Table) -> None:
        self.con.register(f"__arrow_{name}", data)
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "__arrow_{name}"')
        self.con.unregister(f"__arrow_{name}")

    def close(self) -> None:
        """Close the DuckDB connection (tables of an in-memory database are gone afterwards)."""
        self.con.close()
