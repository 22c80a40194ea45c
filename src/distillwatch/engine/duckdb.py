"""DuckDB engine: the embedded default (https://duckdb.org)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Callable

import duckdb
import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.errors import folder_problem


class DuckDBEngine(Engine):
    """Embedded DuckDB with a memory cap and spilling to a temporary directory.

    Args:
        path: database file, or ``":memory:"`` (default).
        memory_limit: DuckDB ``memory_limit`` setting, e.g. ``"8GB"`` (checked by
            :func:`parse_memory_limit`, which raises ``ValueError``); ``None`` keeps DuckDB's default
            (80 % of RAM). Work beyond the cap spills to ``temp_directory``.
        threads: worker threads; ``None`` means all cores.
        temp_directory: where spilled data goes; defaults to a fresh temporary folder.
        work_dir: keep the intermediate tables in a database file ``work_dir/work.duckdb``
            (DuckDB's compressed storage) and spill to ``work_dir/spill``, instead of an in-memory
            database whose overflow spills uncompressed. For logs far larger than memory: a scan of
            the 28.8M-request bulk log in memory with a 10 GB cap spilled 66 GB before it was
            stopped (docs/benchmarks.md). The folder is created if missing; the two paths this
            engine creates are removed by :meth:`close`. Not combined with ``path``.

    Raises:
        ValueError: ``memory_limit`` is not a size, ``work_dir`` is given with a ``path``, cannot
            be created or written (an existing file, a read-only place), or ``work_dir/work.duckdb``
            (or its ``.wal``) already exists (another scan may be using it).

    The session time zone is UTC, so every ``TIMESTAMPTZ`` is rendered in UTC.
    """

    dialect = "duckdb"

    def __init__(self, path: str = ":memory:", memory_limit: str | None = None, threads: int | None = None,
                 temp_directory: str | None = None, work_dir: str | None = None):
        super().__init__()
        self.path, self.memory_limit, self.threads, self.temp_directory = path, memory_limit, threads, temp_directory
        self.work_dir = work_dir
        limit = parse_memory_limit(memory_limit) if memory_limit else None
        self._own_db = None
        if work_dir is not None:
            if path != ":memory:":
                raise ValueError("work_dir and path are exclusive: work_dir makes its own database file")
            try:
                os.makedirs(work_dir, exist_ok=True)
            except OSError as exc:
                raise ValueError(f"work folder {work_dir}: cannot use it as a folder ({folder_problem(work_dir, exc)})") from exc
            if not os.access(work_dir, os.W_OK | os.X_OK):
                raise ValueError(f"work folder {work_dir}: not writable")
            path = os.path.join(work_dir, "work.duckdb")
            if os.path.exists(path) or os.path.exists(path + ".wal"):
                raise ValueError(f"{path} already exists (another scan may be using this work folder); "
                                 "remove it or choose another folder")
            self._own_db = path
            temp_directory = temp_directory or os.path.join(work_dir, "spill")
        self.con = duckdb.connect(path)
        self.con.execute("SET TimeZone='UTC'")
        self.con.execute("SET enable_progress_bar=false")
        if limit:
            self.con.execute(f"SET memory_limit='{limit}'")
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        self._own_tmp = temp_directory is None or self._own_db is not None
        tmp = temp_directory or tempfile.mkdtemp(prefix="distillwatch-spill-")
        os.makedirs(tmp, exist_ok=True)
        self._tmp = tmp
        self.con.execute("SET temp_directory='" + tmp.replace("'", "''") + "'")

    def _execute(self, sql: str, params: list[Any] | None) -> None:
        self.con.execute(sql, params or [])

    def _fetch_arrow(self, sql: str, params: list[Any] | None) -> pa.Table:
        if params:
            return self.con.execute(sql, params).to_arrow_table()
        return self.con.sql(sql).to_arrow_table()

    def _has_table(self, name: str) -> bool:
        return self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                [name]).fetchall()[0][0] > 0

    def _register_arrow(self, name: str, data: pa.Table) -> None:
        self.con.register(f"__arrow_{name}", data)
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "__arrow_{name}"')
        self.con.unregister(f"__arrow_{name}")

    def _map_batches(self, out: str, query: str, fn: Callable[[pa.RecordBatch], pa.RecordBatch],
                     schema: pa.Schema, batch_rows: int) -> None:
        reader = self.con.sql(query).to_arrow_reader(batch_rows)

        def produce():
            for batch in reader:
                res = fn(batch)
                if not res.schema.equals(schema):
                    raise ValueError(f"map_batches function returned schema {res.schema}, expected {schema}")
                yield res

        stream = pa.RecordBatchReader.from_batches(schema, produce())
        # a second cursor: the reader above keeps the first one busy while this one writes
        cur = self.con.cursor()
        try:
            cur.register(f"__map_{out}", stream)
            cur.execute(f'CREATE OR REPLACE TABLE "{out}" AS SELECT * FROM "__map_{out}"')
            cur.unregister(f"__map_{out}")
        finally:
            cur.close()

    def close(self) -> None:
        """Close the DuckDB connection and remove the spill folder (and work database file) this engine created."""
        self.con.close()
        if self._own_tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        if self._own_db:
            for f in (self._own_db, self._own_db + ".wal"):  # DuckDB writes the .wal beside its own file
                if os.path.exists(f):
                    os.remove(f)


MIN_MEMORY_BYTES = 64 * 1024 ** 2
"""Smallest accepted ``memory_limit`` (64 MiB): below it DuckDB cannot run the pipeline at all."""


def parse_memory_limit(text: str) -> str:
    """Validate a memory limit such as ``"8GB"``, ``"512MiB"`` or ``"1.5 GB"`` and return DuckDB's spelling.

    Units: KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024), case-insensitive.

    Raises:
        ValueError: not a positive size with a unit, or below :data:`MIN_MEMORY_BYTES`.
    """
    import re

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b)\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"memory limit {text!r}: expected a size such as 8GB or 512MiB")
    value, unit = float(m.group(1)), m.group(2).lower()
    scale = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}
    if value * scale[unit] < MIN_MEMORY_BYTES:
        raise ValueError(f"memory limit {text!r} is below the 64 MiB minimum")
    return f"{m.group(1)}{m.group(2).upper().replace('IB', 'iB')}"
