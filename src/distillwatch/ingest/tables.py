"""Readers for the optional accounts file (JSON Lines or CSV) and releases file (JSON Lines).

Bad rows are quarantined with file, line, field and reason, as for requests.
"""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import orjson
import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.errors import InputError
from distillwatch.ingest.lines import check_file, load_lines
from distillwatch.ingest.requests import (INVALID_JSON, NOT_A_JSON_OBJECT, IngestResult, epoch_ms_sql, in_range_sql,
                                         valid_ip)
from distillwatch.schema import ACCOUNT_FIELDS, VERIFICATION_LEVELS


def _lines_as_json(engine: Engine, path: Path, table: str, required: str | None = None):
    """JSONL -> ``(line_no, line)``; CSV -> same shape with each record turned into a JSON object.

    CSV is parsed with the standard library's ``csv`` module (RFC 4180 quoting, multi-line
    fields; the delimiter, one of ``, ; TAB |``, is sniffed from the header; a UTF-8 byte-order
    mark is dropped); ``line_no`` is the physical line where a record starts, counting the header
    as line 1. Blank lines, records with the wrong number of fields and undecodable bytes are
    rejects. A header without the ``required`` column raises :class:`InputError`.
    Returns ``(records_read, rejects)``.
    """
    name = str(path).lower()
    if not name.endswith((".csv", ".csv.gz")):
        res = load_lines(engine, path, table)
        return res.rows_read, res.rejected
    opener = gzip.open if name.endswith(".gz") else open
    nos, texts, rejected = [], [], []
    n_read, start = 0, 1
    try:
        with opener(path, "rt", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
            first = fh.readline()
            if not first.strip():
                raise InputError(f"{path}: empty CSV file (no header row)")
            try:
                dialect = csv.Sniffer().sniff(first, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            header = [h.strip() for h in next(csv.reader([first], dialect))]
            if required and required not in header:
                raise InputError(f"{path}: line 1: the header has no {required!r} column "
                                 f"(found {', '.join(header)!s}; delimiter {dialect.delimiter!r})")
            reader = csv.reader(fh, dialect)
            start = 2  # physical line of the next record; the header was line 1
            for rec in reader:
                n_read += 1
                raw = ",".join(rec)[:200].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                if not rec or all(not f.strip() for f in rec):
                    rejected.append({"file": str(path), "line": start, "field": None, "reason": "empty line", "raw": raw})
                elif len(rec) != len(header):
                    rejected.append({"file": str(path), "line": start, "field": None, "raw": raw,
                                     "reason": f"expected {len(header)} fields as in the header, found {len(rec)}"})
                elif any(_has_surrogates(f) for f in rec):
                    rejected.append({"file": str(path), "line": start, "field": None, "reason": "invalid UTF-8 bytes",
                                     "raw": raw})
                else:
                    nos.append(start)
                    texts.append(orjson.dumps({k: (v if v != "" else None) for k, v in zip(header, rec)}).decode())
                start = 1 + reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path}: line {start}: not readable as CSV: {exc}") from exc
    engine.register(table, pa.table({"line_no": pa.array(nos, pa.int64()), "line": pa.array(texts, pa.string())}))
    return n_read, rejected


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in s)


def _basic_checks(required: tuple[str, ...]) -> list[tuple[str | None, str, str]]:
    checks = [(None, "line IS NULL OR trim(line) = ''", "empty line"),
              (None, "NOT json_valid(line)", INVALID_JSON),
              (None, "json_type(line) <> 'OBJECT'", NOT_A_JSON_OBJECT)]
    for f in required:
        checks.append((f, f"coalesce(trim(json_extract_string(line, '$.{f}')), '') = ''", f"missing required field {f}"))
    return checks


def _case(checks) -> str:
    whens = "\n".join(f"WHEN {c} THEN struct_pack(field := {repr(f) if f else 'NULL'}, reason := {r!r})"
                      for f, c, r in checks)
    return f"CASE {whens} END"


def _quarantine(engine: Engine, table: str, path: Path, rejected: list[dict]) -> list[dict]:
    q = engine.table(f"""SELECT line_no, violation.field AS field, violation.reason AS reason, left(coalesce(line, ''), 200) AS raw
                         FROM {table} WHERE violation IS NOT NULL ORDER BY line_no""")
    out = list(rejected)
    for ln, f, r, raw in zip(*(q.column(c).to_pylist() for c in ("line_no", "field", "reason", "raw"))):
        out.append({"file": str(path), "line": int(ln), "field": f, "reason": r, "raw": raw})
    return sorted(out, key=lambda x: x["line"])


def read_accounts(engine: Engine, path: str | os.PathLike, table: str = "accounts") -> IngestResult:
    """Read the accounts file into ``table`` with columns of :data:`~distillwatch.schema.ACCOUNT_FIELDS`.

    ``created_at`` becomes TIMESTAMPTZ (UTC); ``verification`` defaults to ``none`` when empty.
    Quarantined: unparseable ``created_at``, unknown ``verification``, ``billing_country`` that
    is not two letters, invalid ``signup_ip``, duplicate ``account_id``.

    Raises:
        InputError: the file is missing or unreadable.
    """
    path = Path(path)
    check_file(path)
    n, rejected = _lines_as_json(engine, path, f"{table}__lines", required="account_id")
    s = lambda f: f"nullif(trim(json_extract_string(line, '$.{f}')), '')"  # noqa: E731
    levels = ", ".join(f"'{v}'" for v in VERIFICATION_LEVELS)
    checks = _basic_checks(("account_id",)) + [
        ("created_at", f"{s('created_at')} IS NOT NULL AND {epoch_ms_sql(s('created_at'))} IS NULL",
         "unparseable created_at (expected RFC 3339)"),
        ("created_at", f"{s('created_at')} IS NOT NULL AND NOT {in_range_sql(epoch_ms_sql(s('created_at')))}",
         "created_at out of range (years 2000-2099)"),
        ("verification", f"{s('verification')} IS NOT NULL AND lower({s('verification')}) NOT IN ({levels})",
         f"verification must be one of {', '.join(VERIFICATION_LEVELS)}"),
        ("billing_country", f"{s('billing_country')} IS NOT NULL AND NOT regexp_full_match({s('billing_country')}, '[A-Za-z]{{2}}')",
         "billing_country must be an ISO 3166-1 alpha-2 code"),
    ]
    engine.run("validate:accounts", f"""
        CREATE OR REPLACE TABLE {table}__checked AS
        SELECT line_no, line, {_case(checks)} AS violation FROM {table}__lines""")
    engine.run("validate:accounts", f"""
        CREATE OR REPLACE TABLE {table}__valid AS
        SELECT line_no, {s('account_id')} AS account_id,
               make_timestamp(1000 * {epoch_ms_sql(s('created_at'))})::TIMESTAMPTZ AS created_at,
               lower({s('email_domain')}) AS email_domain, {s('payment_fingerprint')} AS payment_fingerprint,
               upper({s('billing_country')}) AS billing_country, {s('org_id')} AS org_id,
               coalesce(lower({s('verification')}), 'none') AS verification, {s('signup_ip')} AS signup_ip
        FROM {table}__checked WHERE violation IS NULL""")
    bad_ips = [ip for ip in engine.table(f"SELECT DISTINCT signup_ip FROM {table}__valid WHERE signup_ip IS NOT NULL")
               .column(0).to_pylist() if not valid_ip(ip)]
    bad_list = ", ".join("'" + ip.replace("'", "''") + "'" for ip in bad_ips) or "NULL"
    engine.run("validate:accounts", f"""
        CREATE OR REPLACE TABLE {table}__late AS
        SELECT line_no, 'signup_ip' AS field, 'invalid IP address: ' || signup_ip AS reason
        FROM {table}__valid WHERE signup_ip IN ({bad_list})
        UNION ALL
        SELECT line_no, 'account_id', 'duplicate account_id (first seen on line ' || first_line || ')'
        FROM (SELECT line_no, min(line_no) OVER (PARTITION BY account_id) AS first_line FROM {table}__valid)
        WHERE line_no <> first_line""")
    engine.run("validate:accounts", f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT {', '.join(ACCOUNT_FIELDS)} FROM {table}__valid
        WHERE line_no NOT IN (SELECT line_no FROM {table}__late)""")
    engine.run("validate:accounts", f"""
        UPDATE {table}__checked SET violation = struct_pack(field := l.field, reason := l.reason)
        FROM {table}__late l WHERE {table}__checked.line_no = l.line_no""")
    quarantine = _quarantine(engine, f"{table}__checked", path, rejected)
    n_ok = int(engine.scalar(f"SELECT count(*) FROM {table}"))
    for t in ("__checked", "__valid", "__late", "__lines"):
        engine.run("validate:accounts", f"DROP TABLE IF EXISTS {table}{t}")
    return IngestResult(str(path), n, n_ok, quarantine)


def read_releases(engine: Engine, path: str | os.PathLike, table: str = "releases") -> IngestResult:
    """Read the releases file (JSON Lines: ``model``, ``released_at``) into ``table``.

    Raises:
        InputError: the file is missing or unreadable.
    """
    path = Path(path)
    check_file(path)
    n, rejected = _lines_as_json(engine, path, f"{table}__lines")
    s = lambda f: f"nullif(trim(json_extract_string(line, '$.{f}')), '')"  # noqa: E731
    checks = _basic_checks(("model", "released_at")) + [
        ("released_at", f"{epoch_ms_sql(s('released_at'))} IS NULL", "unparseable released_at (expected RFC 3339)"),
        ("released_at", f"NOT {in_range_sql(epoch_ms_sql(s('released_at')))}", "released_at out of range (years 2000-2099)")]
    engine.run("validate:releases", f"""
        CREATE OR REPLACE TABLE {table}__checked AS
        SELECT line_no, line, {_case(checks)} AS violation FROM {table}__lines""")
    engine.run("validate:releases", f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT {s('model')} AS model, make_timestamp(1000 * {epoch_ms_sql(s('released_at'))})::TIMESTAMPTZ AS released_at
        FROM {table}__checked WHERE violation IS NULL""")
    quarantine = _quarantine(engine, f"{table}__checked", path, rejected)
    n_ok = int(engine.scalar(f"SELECT count(*) FROM {table}"))
    engine.run("validate:releases", f"DROP TABLE IF EXISTS {table}__checked; DROP TABLE IF EXISTS {table}__lines")
    return IngestResult(str(path), n, n_ok, quarantine)

