"""Readers for the optional accounts file (JSON Lines or CSV) and releases file (JSON Lines).

Bad rows are quarantined with file, line, field and reason, as for requests.
"""

from __future__ import annotations

import os
from pathlib import Path

from distillwatch.engine.base import Engine
from distillwatch.errors import InputError
from distillwatch.ingest.lines import load_lines
from distillwatch.ingest.requests import IngestResult, valid_ip
from distillwatch.schema import ACCOUNT_FIELDS, VERIFICATION_LEVELS


def _lines_as_json(engine: Engine, path: Path, table: str):
    """JSONL -> ``(line_no, line)``; CSV -> same shape with each row turned into a JSON object."""
    name = str(path).lower()
    if name.endswith((".csv", ".csv.gz")):
        sp = str(path).replace("'", "''")
        try:
            engine.run(f"ingest:{table}", f"""
                CREATE OR REPLACE TABLE {table} AS
                SELECT row_number() OVER () + 1 AS line_no, to_json(t)::VARCHAR AS line
                FROM read_csv('{sp}', header=true, all_varchar=true, auto_detect=true) t""")
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{path}: not a readable CSV file: {getattr(exc, 'cause', exc)}") from exc
        n = int(engine.scalar(f"SELECT count(*) FROM {table}"))
        return n, []
    res = load_lines(engine, path, table)
    return res.rows_read, res.rejected


def _basic_checks(required: tuple[str, ...]) -> list[tuple[str | None, str, str]]:
    checks = [(None, "line IS NULL OR trim(line) = ''", "empty line"),
              (None, "NOT json_valid(line)", "invalid JSON"),
              (None, "json_type(line) <> 'OBJECT'", "not a JSON object")]
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
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    n, rejected = _lines_as_json(engine, path, f"{table}__lines")
    s = lambda f: f"nullif(trim(json_extract_string(line, '$.{f}')), '')"  # noqa: E731
    levels = ", ".join(f"'{v}'" for v in VERIFICATION_LEVELS)
    checks = _basic_checks(("account_id",)) + [
        ("created_at", f"{s('created_at')} IS NOT NULL AND try_cast({s('created_at')} AS TIMESTAMPTZ) IS NULL",
         "unparseable created_at (expected RFC 3339)"),
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
        SELECT line_no, {s('account_id')} AS account_id, try_cast({s('created_at')} AS TIMESTAMPTZ) AS created_at,
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
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    n, rejected = _lines_as_json(engine, path, f"{table}__lines")
    s = lambda f: f"nullif(trim(json_extract_string(line, '$.{f}')), '')"  # noqa: E731
    checks = _basic_checks(("model", "released_at")) + [
        ("released_at", f"try_cast({s('released_at')} AS TIMESTAMPTZ) IS NULL", "unparseable released_at (expected RFC 3339)")]
    engine.run("validate:releases", f"""
        CREATE OR REPLACE TABLE {table}__checked AS
        SELECT line_no, line, {_case(checks)} AS violation FROM {table}__lines""")
    engine.run("validate:releases", f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT {s('model')} AS model, try_cast({s('released_at')} AS TIMESTAMPTZ) AS released_at
        FROM {table}__checked WHERE violation IS NULL""")
    quarantine = _quarantine(engine, f"{table}__checked", path, rejected)
    n_ok = int(engine.scalar(f"SELECT count(*) FROM {table}"))
    engine.run("validate:releases", f"DROP TABLE IF EXISTS {table}__checked; DROP TABLE IF EXISTS {table}__lines")
    return IngestResult(str(path), n, n_ok, quarantine)

