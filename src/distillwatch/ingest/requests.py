"""Validate request rows against the input contract (``docs/input-format.md``) in SQL.

Output: the canonical ``requests`` table (one row per valid request) and quarantine
records naming file, line, field and reason for every row that breaks the contract.
Rows read = rows accepted + rows quarantined, always.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.errors import InputError
from distillwatch.ingest.lines import check_file, file_format, load_lines
from distillwatch.schema import MESSAGE_ROLES, OPTIONAL_REQUEST_FIELDS, REQUIRED_REQUEST_FIELDS

ROLES_SQL = "(" + ", ".join(f"'{r}'" for r in MESSAGE_ROLES + ("developer", "function")) + ")"
"""Accepted ``messages[].role`` values: the contract's roles plus OpenAI's ``developer`` and legacy ``function``."""
MIN_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: smaller integers are not epoch milliseconds
MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z


@dataclass
class IngestResult:
    """Counts and quarantine records of one input file.

    Attributes:
        file: path read.
        rows_read: physical lines / Parquet rows.
        rows_accepted: rows in the output table.
        quarantine: dicts ``{file, line, field, reason, raw}``.
    """

    file: str
    rows_read: int
    rows_accepted: int
    quarantine: list[dict] = field(default_factory=list)


CONTRACT_FIELDS = REQUIRED_REQUEST_FIELDS + OPTIONAL_REQUEST_FIELDS
"""Fields read from each row (:mod:`distillwatch.schema`); anything else is kept in the raw line and ignored."""

_SPEC = "{" + ", ".join(f'"{f}": "JSON"' for f in CONTRACT_FIELDS) + "}"


def _field_type(f: str) -> str:
    return f"json_type(j.{f})"


def _str(f: str) -> str:
    return f"json_extract_string(j.{f}, '$')"


def epoch_ms_sql(text: str, json_type: str | None = None) -> str:
    """SQL for the epoch milliseconds (BIGINT) of a timestamp, or NULL when it is not usable.

    ``text`` is an SQL expression for the value as text; ``json_type`` (optional) its JSON type.
    Strings are read as RFC 3339 (case-insensitive ``T``/``Z``; a value without an offset is read
    as UTC) and must be finite (``infinity`` is rejected); JSON integers are epoch milliseconds
    and must fit in 64 bits. The caller applies the 2000-2099 range rule.
    """
    as_ts = f"try_cast(upper(trim({text})) AS TIMESTAMPTZ)"
    from_text = f"CASE WHEN isfinite({as_ts}) THEN epoch_ms({as_ts}) END"
    if json_type is None:
        return f"({from_text})"
    return (f"(CASE WHEN {json_type} = 'VARCHAR' THEN {from_text} "
            f"WHEN {json_type} IN ('BIGINT', 'UBIGINT') THEN try_cast({text} AS BIGINT) END)")


def in_range_sql(ms: str) -> str:
    """SQL: true when epoch milliseconds ``ms`` fall in [2000-01-01, 2100-01-01) UTC."""
    return f"({ms} >= {MIN_EPOCH_MS} AND {ms} < {MAX_EPOCH_MS})"


def _parse_sql(src: str) -> str:
    """Parse each line once: ``ok`` (valid JSON), ``j`` (struct of JSON values, NULL unless a JSON
    object) and ``items`` (the ``messages`` elements as JSON, when ``messages`` is an array)."""
    ms = epoch_ms_sql("json_extract_string(j.timestamp, '$')", "json_type(j.timestamp)")
    return f"""
        SELECT line_no, line, ok, j,
               CASE WHEN json_type(j.messages) = 'ARRAY' THEN json_extract(j.messages, '$[*]') END AS items,
               {ms} AS ts_ms
        FROM (SELECT line_no, line, ok,
                     CASE WHEN ok AND json_type(line) = 'OBJECT' THEN json_transform(line, '{_SPEC}') END AS j
              FROM (SELECT line_no, line, coalesce(json_valid(line), false) AS ok FROM {src}))"""


INVALID_JSON = "invalid JSON"
NOT_A_JSON_OBJECT = "not a JSON object"
"""Quarantine reasons for a line that is not JSON Lines at all (requests, accounts and releases files)."""
IS_CONTINUATION_SQL = "coalesce(msgs[-1].role IN ('assistant', 'tool', 'function'), false)"
"""``is_continuation`` over a ``msgs`` list column (both readers): the last message is an assistant,
tool or function message, so the request continues an agent or tool loop."""

NON_NEGATIVE = (("max_tokens", "max_tokens must not be negative (a token count)"),
                ("temperature", "temperature must not be negative"),
                ("input_tokens", "input_tokens must not be negative (a token count)"),
                ("output_tokens", "output_tokens must not be negative (a token count)"))
"""Numeric fields whose negative values are quarantined: token counts cannot be negative, and no
provider's API accepts a negative sampling temperature (OpenAI and Anthropic: 0 or more)."""
NOT_FINITE = "temperature must be a finite number (NaN and Infinity are not JSON numbers)"
"""Reason for a NaN or infinite temperature: DuckDB's JSON reader accepts the ``NaN`` / ``Infinity``
literals that RFC 8259 does not, and a Parquet double can hold them."""


def _checks_sql() -> str:
    """Ordered (field, condition-that-is-a-violation, reason) checks, rendered as one CASE."""
    int_t = "('UBIGINT', 'BIGINT')"
    num_t = "('UBIGINT', 'BIGINT', 'DOUBLE')"
    scalar_t = "('VARCHAR', 'UBIGINT', 'BIGINT')"
    checks = [
        ("", "line IS NULL OR trim(line) = ''", "empty line"),
        ("", "NOT ok", INVALID_JSON),
        ("", "j IS NULL", NOT_A_JSON_OBJECT),
    ]
    for f in ("request_id", "account_id", "model"):
        checks.append((f, f"{_field_type(f)} IS NULL OR {_field_type(f)} = 'NULL' OR trim({_str(f)}) = ''",
                       f"missing required field {f}"))
        checks.append((f, f"{_field_type(f)} NOT IN {scalar_t}", f"{f} must be a string"))
    ts = _field_type("timestamp")
    checks += [
        ("timestamp", f"{ts} IS NULL OR {ts} = 'NULL'", "missing required field timestamp"),
        ("timestamp", f"{ts} NOT IN ('VARCHAR', 'UBIGINT', 'BIGINT')",
         "timestamp must be an RFC 3339 string or integer epoch milliseconds"),
        ("timestamp", f"{ts} = 'VARCHAR' AND ts_ms IS NULL",
         "unparseable timestamp (expected RFC 3339)"),
        ("timestamp", f"ts_ms IS NULL OR NOT {in_range_sql('ts_ms')}",
         "timestamp out of range (years 2000-2099; integers are epoch milliseconds)"),
        ("messages", f"({_field_type('messages')} IS NULL OR {_field_type('messages')} = 'NULL') AND "
                     f"({_field_type('prompt')} IS NULL OR {_field_type('prompt')} = 'NULL')",
         "one of messages or prompt is required"),
        ("messages", f"{_field_type('messages')} NOT IN ('ARRAY', 'NULL')", "messages must be a list"),
        ("messages", f"""{_field_type('messages')} = 'ARRAY' AND (
              len(items) = 0
              OR len(list_filter(items, lambda m: json_type(m) = 'OBJECT'
                     AND json_extract_string(m, '$.role') IN {ROLES_SQL}
                     AND coalesce(json_type(m, '$.content'), 'NULL') IN ('VARCHAR', 'ARRAY', 'NULL'))) <> len(items))""",
         "messages must be a non-empty list of {role, content} with role in system, user, assistant, tool"),
        ("prompt", f"{_field_type('prompt')} NOT IN ('VARCHAR', 'NULL')", "prompt must be a string"),
        ("tools", f"{_field_type('tools')} NOT IN ('ARRAY', 'NULL')", "tools must be a list"),
        ("max_tokens", f"{_field_type('max_tokens')} NOT IN ({int_t[1:-1]}, 'NULL')", "max_tokens must be an integer"),
        ("temperature", f"{_field_type('temperature')} NOT IN ({num_t[1:-1]}, 'NULL')", "temperature must be a number"),
        ("stream", f"{_field_type('stream')} NOT IN ('BOOLEAN', 'NULL')", "stream must be a boolean"),
        ("input_tokens", f"{_field_type('input_tokens')} NOT IN ({int_t[1:-1]}, 'NULL')", "input_tokens must be an integer"),
        ("output_tokens", f"{_field_type('output_tokens')} NOT IN ({int_t[1:-1]}, 'NULL')", "output_tokens must be an integer"),
        ("status", f"{_field_type('status')} NOT IN ({int_t[1:-1]}, 'NULL')", "status must be an integer"),
        ("client_ip", f"{_field_type('client_ip')} NOT IN ('VARCHAR', 'NULL')", "client_ip must be a string"),
        ("user_agent", f"{_field_type('user_agent')} NOT IN ('VARCHAR', 'NULL')", "user_agent must be a string"),
        ("response", f"{_field_type('response')} NOT IN ('VARCHAR', 'NULL')", "response must be a string"),
    ]
    checks.append(("temperature", f"{_field_type('temperature')} = 'DOUBLE' AND NOT isfinite(try_cast({_str('temperature')} AS DOUBLE))",
                   NOT_FINITE))
    checks += [(f, f"{_field_type(f)} IN ('BIGINT', 'DOUBLE') AND try_cast({_str(f)} AS DOUBLE) < 0", reason)
               for f, reason in NON_NEGATIVE]
    for f in ("api_key_id", "org_id"):
        checks.append((f, f"{_field_type(f)} NOT IN {scalar_t[:-1]}, 'NULL')", f"{f} must be a string"))
    whens = "\n".join(
        f"WHEN {cond} THEN struct_pack(field := {repr(fld) if fld else 'NULL'}, reason := {reason!r})"
        for fld, cond, reason in checks)
    return f"CASE {whens} END"


_CONTENT = ("CASE WHEN json_type(m.content) = 'VARCHAR' THEN m.content->>'$' "
            "WHEN json_type(m.content) = 'ARRAY' THEN array_to_string(m.content->>'$[*].text', ' ') END")


def _canonical_sql(src: str) -> str:
    """SELECT that turns validated JSON lines into the canonical ``requests`` columns."""
    msgs = "from_json(j.messages, '[{\"role\": \"VARCHAR\", \"content\": \"JSON\"}]')"
    return f"""
    SELECT
      line_no,
      {_str('request_id')} AS request_id,
      make_timestamp(1000 * ts_ms)::TIMESTAMPTZ AS ts,
      {_str('account_id')} AS account_id,
      {_str('api_key_id')} AS api_key_id,
      {_str('org_id')} AS org_id,
      nullif(trim({_str('client_ip')}), '') AS client_ip,
      {_str('user_agent')} AS user_agent,
      {_str('model')} AS model,
      msgs,
      coalesce(len(msgs), 0) AS n_messages,
      coalesce(len(list_filter(msgs, lambda m: m.role = 'user')), CASE WHEN {_field_type('prompt')} = 'VARCHAR' THEN 1 ELSE 0 END) AS n_user_turns,
      coalesce(len(list_filter(msgs, lambda m: m.role = 'assistant')), 0) AS n_assistant_turns,
      coalesce(len(list_filter(msgs, lambda m: m.role IN ('tool', 'function'))), 0) AS n_tool_turns,
      {IS_CONTINUATION_SQL} AS is_continuation,
      coalesce(array_to_string(list_transform(list_filter(msgs, lambda m: m.role IN ('system', 'developer')),
               lambda m: {_CONTENT}), '\n'), '') AS system_text,
      coalesce(
        (list_transform(list_filter(msgs, lambda m: m.role = 'user'), lambda m: {_CONTENT}))[-1],
        {_str('prompt')}, '') AS user_text,
      list_sort(list_filter(list_concat(json_extract_string(j.tools, '$[*].name'),
                                        json_extract_string(j.tools, '$[*].function.name')),
                            lambda x: x IS NOT NULL)) AS tool_names,
      try_cast({_str('max_tokens')} AS BIGINT) AS max_tokens,
      try_cast({_str('temperature')} AS DOUBLE) AS temperature,
      try_cast({_str('stream')} AS BOOLEAN) AS stream,
      length({_str('response')}) AS response_chars,
      try_cast({_str('input_tokens')} AS BIGINT) AS input_tokens,
      try_cast({_str('output_tokens')} AS BIGINT) AS output_tokens,
      try_cast({_str('status')} AS INTEGER) AS status
    FROM (SELECT line_no, j, ts_ms, CASE WHEN json_type(j.messages) = 'ARRAY' THEN {msgs} END AS msgs FROM {src}) s
    """


def read_requests(engine: Engine, path: str | os.PathLike, table: str = "requests") -> IngestResult:
    """Read and validate a requests file into engine table ``table``.

    The output columns are: ``line_no, request_id, ts (TIMESTAMPTZ, UTC), account_id, api_key_id,
    org_id, client_ip, user_agent, model, n_messages, n_user_turns, n_assistant_turns, n_tool_turns,
    is_continuation, system_text, user_text (last user message, or the prompt), tool_names (sorted
    list), max_tokens, temperature, stream, response_chars, input_tokens, output_tokens (tokens),
    status``. ``is_continuation`` is true when the last message is an assistant, tool or function
    message: the request continues an agent or tool loop and re-sends an earlier user message rather
    than asking anew.

    Quarantine reasons (first violation wins): empty line, invalid UTF-8 bytes, invalid JSON, not a
    JSON object, missing/ill-typed required field, unparseable or out-of-range timestamp, bad
    messages/prompt, ill-typed optional field, invalid client_ip, duplicate request_id.

    Raises:
        InputError: the file cannot be read at all.
    """
    path = Path(path)
    check_file(path)
    if file_format(path) == "parquet":
        types = _parquet_types(engine, path)
        if native_parquet_ok(types, _tool_name_type(engine, path) if "tools" in types else None):
            rows_read = _native_parquet(engine, path, table, types)
            return _finish(engine, path, table, rows_read, [], parquet=True)
    lines = load_lines(engine, path, f"{table}__lines")
    engine.run("validate:requests", f"""
        CREATE OR REPLACE TABLE {table}__checked AS
        SELECT line_no, line, j, ts_ms, {_checks_sql()} AS violation FROM ({_parse_sql(lines.table)})""")
    engine.run("validate:requests", f"""
        CREATE OR REPLACE TABLE {table}__valid AS
        {_canonical_sql(f"(SELECT line_no, j, ts_ms FROM {table}__checked WHERE violation IS NULL)")}""")
    return _finish(engine, path, table, lines.rows_read, lines.rejected, parquet=False)


def _finish(engine: Engine, path: Path, table: str, rows_read: int, rejected: list[dict], parquet: bool) -> IngestResult:
    """Shared tail of both readers: late checks (client_ip validity, duplicate request_id), the final
    ``table`` in (ts, request_id) order, and the quarantine records.

    Needs ``{table}__checked`` (line_no, line, violation) and ``{table}__valid`` (canonical columns
    plus ``msgs``). For the native Parquet reader ``line`` holds the row as JSON only for rows that
    failed a check; rows failing a late check get theirs here, from a second read of those rows.
    """
    # client_ip validity: parsed once per distinct value with the standard library.
    ips = engine.table(f"SELECT DISTINCT client_ip FROM {table}__valid WHERE client_ip IS NOT NULL")
    bad = [ip for ip in ips.column(0).to_pylist() if not valid_ip(ip)]
    engine.register(f"{table}__bad_ips", pa.table({"client_ip": pa.array(bad, pa.string())}))
    engine.run("validate:requests", f"""
        CREATE OR REPLACE TABLE {table}__late AS
        SELECT line_no, 'client_ip' AS field, 'invalid IP address: ' || client_ip AS reason
        FROM {table}__valid WHERE client_ip IN (SELECT client_ip FROM {table}__bad_ips)
        UNION ALL
        SELECT line_no, 'request_id', 'duplicate request_id (first seen on line ' || first_line || ')'
        FROM (SELECT line_no, min(line_no) OVER (PARTITION BY request_id) AS first_line
              FROM {table}__valid WHERE client_ip IS NULL OR client_ip NOT IN (SELECT client_ip FROM {table}__bad_ips))
        WHERE line_no <> first_line""")
    if parquet and engine.scalar(f"SELECT count(*) FROM {table}__late"):
        types = _parquet_types(engine, path)
        engine.run("validate:requests", f"""
            UPDATE {table}__all SET line = r.line
            FROM (SELECT file_row_number + 1 AS line_no, {_row_json(types)} AS line
                  FROM read_parquet({_lit(path)}, file_row_number = true)
                  WHERE file_row_number + 1 IN (SELECT line_no FROM {table}__late)) r
            WHERE {table}__all.line_no = r.line_no""")
    engine.run("validate:requests", f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT * EXCLUDE (msgs) FROM {table}__valid
        WHERE line_no NOT IN (SELECT line_no FROM {table}__late)
        ORDER BY ts, request_id""")
    q = engine.table(f"""
        SELECT line_no, violation.field AS field, violation.reason AS reason, left(coalesce(line, ''), 200) AS raw
        FROM {table}__checked WHERE violation IS NOT NULL
        UNION ALL
        SELECT l.line_no, l.field, l.reason, left(c.line, 200) FROM {table}__late l JOIN {table}__checked c USING (line_no)
        ORDER BY line_no""")
    quarantine = list(rejected)
    for ln, fld, reason, raw in zip(*(q.column(c).to_pylist() for c in ("line_no", "field", "reason", "raw"))):
        quarantine.append({"file": str(path), "line": int(ln), "field": fld, "reason": reason, "raw": raw})
    quarantine.sort(key=lambda r: r["line"])
    n_ok = int(engine.scalar(f"SELECT count(*) FROM {table}"))
    views = ("__checked", "__valid") if parquet else ()
    for t in views:
        engine.run("validate:requests", f"DROP VIEW IF EXISTS {table}{t}")
    for t in ("__checked", "__valid", "__late", "__bad_ips", "__lines", "__all"):
        if t not in views:
            engine.run("validate:requests", f"DROP TABLE IF EXISTS {table}{t}")
    return IngestResult(str(path), rows_read, n_ok, quarantine)


def valid_ip(s: str) -> bool:
    """True when ``s`` parses as an IPv4 or IPv6 address (standard library ``ipaddress``)."""
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Native Parquet reader: typed columns are checked in place, never turned into JSON text.
# ---------------------------------------------------------------------------------------------

_INT_TYPES = frozenset({"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"})
_TS_TYPES = frozenset({"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"})
_MESSAGES_TYPE = 'STRUCT("role" VARCHAR, "content" VARCHAR)[]'
NATIVE_PARQUET_TYPES: dict[str, frozenset] = {
    "request_id": _INT_TYPES | {"VARCHAR"}, "account_id": _INT_TYPES | {"VARCHAR"}, "model": _INT_TYPES | {"VARCHAR"},
    "api_key_id": _INT_TYPES | {"VARCHAR"}, "org_id": _INT_TYPES | {"VARCHAR"},
    "timestamp": _INT_TYPES | _TS_TYPES | {"VARCHAR"},
    "messages": frozenset({_MESSAGES_TYPE}), "prompt": frozenset({"VARCHAR"}),
    "client_ip": frozenset({"VARCHAR"}), "user_agent": frozenset({"VARCHAR"}), "response": frozenset({"VARCHAR"}),
    "max_tokens": _INT_TYPES, "input_tokens": _INT_TYPES, "output_tokens": _INT_TYPES, "status": _INT_TYPES,
    "temperature": _INT_TYPES | {"DOUBLE"}, "stream": frozenset({"BOOLEAN"}),
}
"""Parquet column types (DuckDB names) read natively, per contract field. A file whose contract
columns all have one of these types (or are absent; ``tools`` must be absent) takes the native
path; any other file goes through the general JSON validation, which quarantines ill-typed rows."""


def _parquet_types(engine: Engine, path: Path) -> dict[str, str]:
    """Column name -> DuckDB type of a Parquet file, in file order.

    Raises:
        InputError: the file is not readable as Parquet.
    """
    try:
        t = engine.table(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)})")
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable Parquet file: {getattr(exc, 'cause', exc)}") from exc
    return dict(zip(t.column("column_name").to_pylist(), t.column("column_type").to_pylist()))


def native_parquet_ok(types: dict[str, str], tool_name_type: str | None = None) -> bool:
    """True when the native reader can take a Parquet file with these column types.

    Every contract column present must have a type of :data:`NATIVE_PARQUET_TYPES`; a ``tools``
    column must be a list of structs whose ``name`` field is VARCHAR and that have no ``function``
    field (``tool_name_type`` is that field's type from :func:`_tool_name_type`); no column may be
    named like one of the reader's working columns.
    """
    if set(types) & {"file_row_number", "line_no", "ts_ms", "msgs", "violation", "line", "tool_list"}:
        return False
    if "tools" in types and tool_name_type != "VARCHAR":
        return False
    return all(types[f] in allowed for f, allowed in NATIVE_PARQUET_TYPES.items() if f in types)


def _tool_name_type(engine: Engine, path: Path) -> str | None:
    """Type of ``tools[1].name`` when ``tools`` is a list of structs without a ``function`` field, else None."""
    try:
        t = engine.table(f"DESCRIBE SELECT tools[1].name AS n FROM read_parquet({_lit(path)})")
    except Exception:  # noqa: BLE001 - not a list of structs with a name field
        return None
    try:
        engine.table(f"DESCRIBE SELECT tools[1].function AS f FROM read_parquet({_lit(path)})")
        return None  # the OpenAI {type, function: {...}} form: the general path reads it
    except Exception:  # noqa: BLE001 - no function field: the plain form
        return t.column("column_type").to_pylist()[0]


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _row_json(types: dict[str, str]) -> str:
    """SQL: the whole Parquet row as JSON text, as the general path's ``to_json`` of the row gives it."""
    return "to_json(struct_pack(" + ", ".join(f"{_q(c)} := {_q(c)}" for c in types) + "))::VARCHAR"


def _native_parquet(engine: Engine, path: Path, table: str, types: dict[str, str]) -> int:
    """Validate and canonicalise a Parquet file in one typed pass; return the rows read.

    Creates ``{table}__checked`` (line_no, line, violation) and ``{table}__valid`` with the same
    columns, reasons and order of checks as the JSON path (:func:`_checks_sql`,
    :func:`_canonical_sql`); the checks that Parquet types make impossible (invalid JSON, a
    string where an integer belongs, ...) are left out. ``line`` (the row as JSON, for the
    quarantine) is built only for rows that fail a check.
    """
    col = {f: (_q(f) if f in types else "NULL") for f in NATIVE_PARQUET_TYPES}
    txt = {f: (f"{col[f]}::VARCHAR" if f in types else "NULL::VARCHAR") for f in NATIVE_PARQUET_TYPES}
    ts_t = types.get("timestamp")
    if ts_t in _TS_TYPES:
        ts_ms = f"CASE WHEN isfinite({col['timestamp']}) THEN epoch_ms({col['timestamp']}) END"
    elif ts_t == "VARCHAR":
        ts_ms = epoch_ms_sql(col["timestamp"])
    elif ts_t is not None:
        ts_ms = f"try_cast({col['timestamp']} AS BIGINT)"
    else:
        ts_ms = "NULL::BIGINT"
    checks: list[tuple[str, str, str]] = []
    for f in ("request_id", "account_id", "model"):
        checks.append((f, f"{col[f]} IS NULL OR trim({txt[f]}) = ''", f"missing required field {f}"))
    checks += [
        ("timestamp", f"{col['timestamp']} IS NULL", "missing required field timestamp"),
        ("timestamp", "ts_ms IS NULL" if ts_t in _TS_TYPES or ts_t == "VARCHAR" else "false",
         "unparseable timestamp (expected RFC 3339)"),
        ("timestamp", f"ts_ms IS NULL OR NOT {in_range_sql('ts_ms')}",
         "timestamp out of range (years 2000-2099; integers are epoch milliseconds)"),
        ("messages", f"msgs IS NULL AND {col['prompt']} IS NULL", "one of messages or prompt is required"),
        ("messages", f"""msgs IS NOT NULL AND (len(msgs) = 0
              OR len(list_filter(msgs, lambda m: m IS NOT NULL AND m.role IN {ROLES_SQL})) <> len(msgs))""",
         "messages must be a non-empty list of {role, content} with role in system, user, assistant, tool"),
    ]
    checks.append(("temperature", f"NOT isfinite(try_cast({col['temperature']} AS DOUBLE))", NOT_FINITE))
    checks += [(f, f"try_cast({col[f]} AS DOUBLE) < 0", reason) for f, reason in NON_NEGATIVE]
    whens = "\n".join(f"WHEN {cond} THEN struct_pack(field := {fld!r}, reason := {reason!r})" for fld, cond, reason in checks)
    msgs = col["messages"] if "messages" in types else "NULL::STRUCT(role VARCHAR, content VARCHAR)[]"
    tool_names = ("list_sort(list_filter(list_concat(list_transform(tools, lambda t: t.name), []::VARCHAR[]), "
                  "lambda x: x IS NOT NULL))" if "tools" in types else "[]::VARCHAR[]")
    engine.run("validate:requests", f"""
        CREATE OR REPLACE TABLE {table}__all AS
        SELECT
          line_no, violation,
          CASE WHEN violation IS NOT NULL THEN {_row_json(types)} END AS line,
          {txt['request_id']} AS request_id,
          CASE WHEN violation IS NULL THEN make_timestamp(1000 * ts_ms)::TIMESTAMPTZ END AS ts,
          {txt['account_id']} AS account_id,
          {txt['api_key_id']} AS api_key_id,
          {txt['org_id']} AS org_id,
          nullif(trim({txt['client_ip']}), '') AS client_ip,
          {txt['user_agent']} AS user_agent,
          {txt['model']} AS model,
          coalesce(len(msgs), 0) AS n_messages,
          coalesce(len(list_filter(msgs, lambda m: m.role = 'user')), CASE WHEN {col['prompt']} IS NOT NULL THEN 1 ELSE 0 END) AS n_user_turns,
          coalesce(len(list_filter(msgs, lambda m: m.role = 'assistant')), 0) AS n_assistant_turns,
          coalesce(len(list_filter(msgs, lambda m: m.role IN ('tool', 'function'))), 0) AS n_tool_turns,
          {IS_CONTINUATION_SQL} AS is_continuation,
          coalesce(array_to_string(list_transform(list_filter(msgs, lambda m: m.role IN ('system', 'developer')),
                   lambda m: m.content), '\n'), '') AS system_text,
          coalesce((list_transform(list_filter(msgs, lambda m: m.role = 'user'), lambda m: m.content))[-1],
                   {txt['prompt']}, '') AS user_text,
          {tool_names} AS tool_names,
          try_cast({col['max_tokens']} AS BIGINT) AS max_tokens,
          try_cast({col['temperature']} AS DOUBLE) AS temperature,
          try_cast({col['stream']} AS BOOLEAN) AS stream,
          length({txt['response']}) AS response_chars,
          try_cast({col['input_tokens']} AS BIGINT) AS input_tokens,
          try_cast({col['output_tokens']} AS BIGINT) AS output_tokens,
          try_cast({col['status']} AS INTEGER) AS status
        FROM (SELECT *, CASE {whens} END AS violation
              FROM (SELECT file_row_number + 1 AS line_no, {ts_ms} AS ts_ms, {msgs} AS msgs, *
                    FROM read_parquet({_lit(path)}, file_row_number = true)))""")
    engine.run("validate:requests", f"""
        CREATE OR REPLACE VIEW {table}__checked AS SELECT line_no, line, violation FROM {table}__all""")
    engine.run("validate:requests", f"""
        CREATE OR REPLACE VIEW {table}__valid AS
        SELECT * EXCLUDE (violation, line), NULL AS msgs FROM {table}__all WHERE violation IS NULL""")
    return int(engine.scalar(f"SELECT count(*) FROM {table}__all"))
