"""Read a JSON Lines or Parquet file into a table of ``(line_no, line)`` rows, losing nothing.

Every physical line becomes either a row of the ``lines`` table (valid UTF-8) or a
quarantine row (invalid UTF-8, line too long). Parquet rows are turned into JSON text
with DuckDB's ``to_json`` so that one set of validation SQL serves both formats.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.errors import InputError

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest accepted line (64 MiB); longer lines are quarantined, not truncated."""
CHUNK_BYTES = 32 * 1024 * 1024
"""Bytes read per block: memory stays bounded whatever the file size."""

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


def check_file(path: Path) -> None:
    """Raise :class:`InputError` naming ``path`` unless it is an existing regular file."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory; expected a file")
    if not path.is_file():
        raise InputError(f"{path}: file not found")


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


def load_lines(engine: Engine, path: str | os.PathLike, table: str) -> LinesResult:
    """Load ``path`` into engine table ``table`` as ``(line_no, line)``.

    JSON Lines are read in 32 MiB blocks and split on ``\\n`` (a trailing ``\\r`` is dropped, so
    CRLF files work; a bare ``\\r`` inside a line stays and JSON validation judges it). Each line is
    decoded as UTF-8; undecodable or over-long lines are returned as rejects with their line
    numbers. Accepted lines are inserted block by block, so memory is bounded. Parquet rows are
    turned into JSON text with DuckDB's ``to_json`` so one validation serves both formats.

    Raises:
        InputError: the file is missing or unreadable.
    """
    path = Path(path)
    check_file(path)
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

    engine.run(f"ingest:{table}", f"CREATE OR REPLACE TABLE {table} (line_no BIGINT, line VARCHAR)")
    rejected: list[dict] = []
    total = 0
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            for nos, texts, rej in _decoded_chunks(fh):
                for ln, reason, raw in rej:
                    rejected.append({"file": str(path), "line": ln, "field": None, "reason": reason, "raw": raw})
                if nos:
                    engine.register(f"{table}__chunk", pa.table({"line_no": pa.array(nos, pa.int64()),
                                                                 "line": pa.array(texts, pa.string())}))
                    engine.run(f"ingest:{table}", f"INSERT INTO {table} SELECT * FROM {table}__chunk")
                total = max(total, (nos[-1] if nos else 0), (rej[-1][0] if rej else 0))
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    engine.run(f"ingest:{table}", f"DROP TABLE IF EXISTS {table}__chunk")
    return LinesResult(table, total, rejected)


def _decoded_chunks(fh, block: int = CHUNK_BYTES):
    """Yield ``(line_numbers, texts, rejects)`` per block of complete lines.

    Lines are split on ``\\n`` only; a trailing ``\\r`` (CRLF files) and a UTF-8 byte-order mark at
    the start of the file are removed; a line that is not
    valid UTF-8 or is longer than :data:`MAX_LINE_BYTES` becomes a reject ``(line, reason, raw)``.
    An empty last line after the final newline is not a line.
    """
    carry = b""
    n = 0
    while True:
        data = fh.read(block)
        if not data:
            break
        parts = (carry + data).split(b"\n")
        carry = parts.pop()
        nos, texts, rej = [], [], []
        for raw in parts:
            n += 1
            _one(raw, n, nos, texts, rej)
        yield nos, texts, rej
    if carry:
        nos, texts, rej = [], [], []
        _one(carry, n + 1, nos, texts, rej)
        yield nos, texts, rej


def _one(raw: bytes, n: int, nos: list, texts: list, rej: list) -> None:
    if n == 1 and raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark written by some editors
        raw = raw[3:]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > MAX_LINE_BYTES:
        rej.append((n, f"line longer than {MAX_LINE_BYTES} bytes", raw[:200].decode("utf-8", "replace")))
        return
    try:
        texts.append(raw.decode("utf-8"))
    except UnicodeDecodeError:
        rej.append((n, "invalid UTF-8 bytes", raw[:200].decode("utf-8", "replace")))
        return
    nos.append(n)
