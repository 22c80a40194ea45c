"""Read a JSON Lines or Parquet file into a table of ``(line_no, line)`` rows, losing nothing.

Every physical line becomes either a row of the ``lines`` table (valid UTF-8) or a
quarantine row (invalid UTF-8, line too long). Parquet rows are turned into JSON text
with DuckDB's ``to_json`` so that one set of validation SQL serves both formats.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.errors import InputError

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest accepted line (64 MiB); longer lines are quarantined, not truncated."""

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class LinesResult:
    """What :func:`load_lines` produced.

    Attributes:
        table: name of the engine table with columns ``line_no`` (1-based physical line, or row
            number for Parquet) and ``line`` (the JSON text; NULL for an empty line).
        rows_read: physical lines (JSONL) or rows (Parquet) seen.
        rejected: quarantine records for lines that could not even be decoded:
            dicts with ``file``, ``line``, ``reason``, ``field`` and ``raw`` (first 200 characters).
    """

    table: str
    rows_read: int
    rejected: list[dict]


def file_format(path: str | os.PathLike) -> str:
    """Return ``"jsonl"`` or ``"parquet"`` from the file name.

    Raises:
        InputError: the suffix is not one of :data:`JSONL_SUFFIXES` / :data:`PARQUET_SUFFIXES`.
    """
    name = str(path).lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    raise InputError(f"{path}: unknown file type; expected one of {JSONL_SUFFIXES + PARQUET_SUFFIXES}")


def _count_lines(path: Path) -> int:
    """Count physical lines (a final line without a newline counts). Reads in 16 MiB blocks."""
    if str(path).endswith(".gz"):
        import gzip

        opener = gzip.open
    else:
        opener = open
    n, last = 0, b"\n"
    with opener(path, "rb") as fh:
        while True:
            block = fh.read(16 * 1024 * 1024)
            if not block:
                break
            n += block.count(b"\n")
            last = block[-1:]
    return n + (0 if last == b"\n" else 1)


def load_lines(engine: Engine, path: str | os.PathLike, table: str) -> LinesResult:
    """Load ``path`` into engine table ``table`` as ``(line_no, line)``.

    JSON Lines are read by DuckDB's CSV reader with a U+0001 delimiter and no quoting, so each
    physical line is one VARCHAR value (JSON forbids raw control characters, so a line holding
    one is rejected as too many columns, correctly, rather than split); lines DuckDB rejects
    (invalid UTF-8, raw control characters, over :data:`MAX_LINE_BYTES`) are captured from its
    ``store_rejects`` table with their line numbers.
    Line numbers of accepted rows are the remaining numbers in order (the reader preserves
    insertion order). The total is reconciled against a byte-level newline count.

    Raises:
        InputError: the file is missing, unreadable, or the reconciliation fails.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    fmt = file_format(path)
    spath = str(path).replace("'", "''")
    if fmt == "parquet":
        try:
            engine.run(f"ingest:{table}", f"""
                CREATE OR REPLACE TABLE {table} AS
                SELECT row_number() OVER () AS line_no, to_json(t)::VARCHAR AS line
                FROM read_parquet('{spath}') t""")
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{path}: not a readable Parquet file: {getattr(exc, 'cause', exc)}") from exc
        n = engine.scalar(f"SELECT count(*) FROM {table}")
        return LinesResult(table, int(n), [])

    rej = f"{table}__rejects"
    rej_scan = f"{table}__reject_scans"
    engine.run(f"ingest:{table}", f"""
        CREATE OR REPLACE TABLE {table}__raw AS
        SELECT line FROM read_csv('{spath}', columns={{'line': 'VARCHAR'}}, header=false, delim='\x01',
            quote='', escape='', auto_detect=false, strict_mode=true, null_padding=false,
            max_line_size={MAX_LINE_BYTES}, store_rejects=true, rejects_table='{rej}',
            rejects_scan='{rej_scan}', parallel=true)""")
    rejects = engine.table(f"SELECT line, error_type, error_message, csv_line FROM {rej} ORDER BY line")
    rej_lines = np.asarray(rejects.column("line").to_pylist(), dtype=np.int64) if rejects.num_rows else np.array([], np.int64)
    n_ok = int(engine.scalar(f"SELECT count(*) FROM {table}__raw"))
    total = n_ok + len(rej_lines)
    physical = _count_lines(path)
    if total != physical:
        raise InputError(
            f"{path}: read {n_ok} lines and rejected {len(rej_lines)} but the file has {physical} lines; "
            "the file may contain NUL bytes or bare carriage returns")
    keep = np.ones(total + 1, dtype=bool)
    keep[0] = False
    keep[rej_lines] = False
    line_nos = pa.table({"line_no": pa.array(np.nonzero(keep)[0], pa.int64())})
    engine.register(f"{table}__nos", line_nos)
    engine.run(f"ingest:{table}", f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT n.line_no, r.line FROM
          (SELECT line, row_number() OVER () AS k FROM {table}__raw) r
          JOIN (SELECT line_no, row_number() OVER (ORDER BY line_no) AS k FROM {table}__nos) n USING (k)""")
    engine.run(f"ingest:{table}", f"DROP TABLE {table}__raw; DROP TABLE {table}__nos")
    rejected = []
    for ln, etype, msg, raw in zip(*(rejects.column(c).to_pylist() for c in ("line", "error_type", "error_message", "csv_line"))):
        if etype == "INVALID ENCODING":
            reason = "invalid UTF-8 bytes"
        elif etype == "TOO MANY COLUMNS":
            reason = "invalid JSON (raw control character U+0001 in line)"
        else:
            reason = f"unreadable line ({etype}): {msg}"
        rejected.append({"file": str(path), "line": int(ln), "field": None, "reason": reason,
                         "raw": (raw or "")[:200]})
    return LinesResult(table, total, rejected)
