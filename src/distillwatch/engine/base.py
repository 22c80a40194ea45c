"""Engine abstraction (after Splink's DatabaseAPI): one hook to run SQL, shared logging and errors."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from typing import Any, Callable

import pyarrow as pa

from distillwatch.errors import EngineError

log = logging.getLogger("distillwatch.engine")


class Engine(ABC):
    """Runs named SQL steps and moves Arrow tables in and out.

    Subclasses implement only :meth:`_execute`, :meth:`_register_arrow`, :meth:`_fetch_arrow`,
    :meth:`_map_batches` and :meth:`_has_table`. Every step is timed; :attr:`timings` maps step name to
    seconds (wall clock), and a failing step raises :class:`EngineError` carrying
    the step name and its SQL.
    """

    dialect: str = "generic"

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, stage: str, sql: str, params: list[Any] | None = None) -> None:
        """Execute one statement (typically ``CREATE TABLE ... AS SELECT``) as step ``stage``.

        Raises:
            EngineError: the statement failed; the message includes the SQL.
        """
        t0 = time.perf_counter()
        try:
            self._execute(sql, params)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            raise EngineError(stage, sql, exc) from exc
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t0
        log.debug("step %s done in %.3fs", stage, self.timings[stage])

    def table(self, sql: str, params: list[Any] | None = None, stage: str = "fetch") -> pa.Table:
        """Run a query and return its result as a :class:`pyarrow.Table`.

        Raises:
            EngineError: the query failed.
        """
        try:
            return self._fetch_arrow(sql, params)
        except Exception as exc:  # noqa: BLE001
            raise EngineError(stage, sql, exc) from exc

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """Return the first column of the first row of a query (None if no rows)."""
        t = self.table(sql, params)
        return t.column(0)[0].as_py() if t.num_rows else None

    def register(self, name: str, data: pa.Table) -> None:
        """Make an Arrow table visible to SQL as a table called ``name`` (copied in)."""
        self._register_arrow(name, data)

    def map_batches(self, stage: str, out: str, query: str, fn: Callable[[pa.RecordBatch], pa.RecordBatch],
                    schema: pa.Schema, batch_rows: int = 65_536) -> None:
        """Create table ``out`` by applying a vectorised Python function to ``query``'s result, batch by batch.

        This is how non-SQL per-row work (a trained text classifier, embeddings) joins the
        pipeline without a Python loop per row: ``fn`` receives an Arrow record batch of at most
        ``batch_rows`` rows and returns a record batch with exactly ``schema``. On DuckDB the
        batches stream from the query; on Spark the same ``fn`` runs through ``mapInArrow``.

        Raises:
            EngineError: the query failed, or ``fn`` raised or returned a batch whose schema is not ``schema``.
        """
        t0 = time.perf_counter()
        try:
            self._map_batches(out, query, fn, schema, batch_rows)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            raise EngineError(stage, query, exc) from exc
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t0

    def has_table(self, name: str) -> bool:
        """True when a table (or view) called ``name`` exists in this engine."""
        return bool(self._has_table(name))

    @abstractmethod
    def _has_table(self, name: str) -> bool: ...

    def ingest(self, reader: Callable[..., Any], path: Any, table: str) -> Any:
        """Run an ingest ``reader(engine, path, table)`` (e.g. :func:`distillwatch.ingest.requests.read_requests`).

        Engines that validate input elsewhere override this (Spark validates in an embedded DuckDB
        and reads the result); the default runs ``reader`` on this engine. Returns what ``reader`` returns.
        """
        return reader(self, path, table)

    @abstractmethod
    def _map_batches(self, out: str, query: str, fn: Callable[[pa.RecordBatch], pa.RecordBatch],
                     schema: pa.Schema, batch_rows: int) -> None: ...

    @abstractmethod
    def _execute(self, sql: str, params: list[Any] | None) -> None: ...

    @abstractmethod
    def _fetch_arrow(self, sql: str, params: list[Any] | None) -> pa.Table: ...

    @abstractmethod
    def _register_arrow(self, name: str, data: pa.Table) -> None: ...

    def close(self) -> None:
        """Release resources held by the engine."""
