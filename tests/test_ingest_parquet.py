"""Native Parquet ingest: typed columns validated in place, with the JSON path's quarantine semantics.

Expected quarantine rows are written out by hand from docs/input-format.md; the general (JSON)
path, forced by monkeypatching, is the independent reference for the accepted table.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillwatch.engine import DuckDBEngine
from distillwatch.ingest import requests as R

SCHEMA = pa.schema([
    ("request_id", pa.string()), ("timestamp", pa.string()), ("account_id", pa.string()), ("model", pa.string()),
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("prompt", pa.string()), ("client_ip", pa.string()), ("max_tokens", pa.int64()), ("status", pa.int64()),
    ("extra", pa.string()),
])
U = [{"role": "user", "content": "hello there"}]


def _row(rid, ts="2026-03-02T10:00:00Z", acct="a1", model="m", messages=U, prompt=None, ip="1.2.3.4",
         max_tokens=10, status=200):
    return dict(request_id=rid, timestamp=ts, account_id=acct, model=model, messages=messages, prompt=prompt,
                client_ip=ip, max_tokens=max_tokens, status=status, extra="kept")


ROWS = [
    _row("r1"),
    _row("r2", acct=None),                                  # 2: null account_id
    _row("r3", ts="yesterday"),                             # 3: unparseable timestamp
    _row("r4", ip="10.0.0.300"),                            # 4: invalid IP
    _row("r5", messages=[]),                                # 5: empty messages
    _row("r6", messages=[{"role": "robot", "content": "x"}]),  # 6: unknown role
    _row("r1", acct="a2"),                                  # 7: duplicate of line 1
    _row("r8", messages=None, prompt=None),                 # 8: neither messages nor prompt
    _row("r9", model="  "),                                 # 9: blank model
    _row("r10", ts="1999-12-31T23:59:59Z"),                 # 10: out of range
    _row("r11", messages=None, prompt="complete me", ts="2026-03-02T12:00:00+02:00"),
    _row(None),                                             # 12: null request_id
]
EXPECTED = [
    (2, "account_id", "missing required field account_id"),
    (3, "timestamp", "unparseable timestamp (expected RFC 3339)"),
    (4, "client_ip", "invalid IP address: 10.0.0.300"),
    (5, "messages", "messages must be a non-empty list of {role, content} with role in system, user, assistant, tool"),
    (6, "messages", "messages must be a non-empty list of {role, content} with role in system, user, assistant, tool"),
    (7, "request_id", "duplicate request_id (first seen on line 1)"),
    (8, "messages", "one of messages or prompt is required"),
    (9, "model", "missing required field model"),
    (10, "timestamp", "timestamp out of range (years 2000-2099; integers are epoch milliseconds)"),
    (12, "request_id", "missing required field request_id"),
]


def _read(path):
    eng = DuckDBEngine(threads=2)
    try:
        res = R.read_requests(eng, path)
        return res, eng.table("SELECT * FROM requests").to_pandas()
    finally:
        eng.close()


@pytest.fixture()
def bad_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS, schema=SCHEMA), path)
    return path


def test_native_path_taken_for_typed_schema(bad_parquet):
    eng = DuckDBEngine(threads=1)
    try:
        assert R.native_parquet_ok(R._parquet_types(eng, bad_parquet))
    finally:
        eng.close()


def test_native_quarantine_names_row_field_reason(bad_parquet):
    res, df = _read(bad_parquet)
    assert [(q["line"], q["field"], q["reason"]) for q in res.quarantine] == EXPECTED
    assert (res.rows_read, res.rows_accepted, len(res.quarantine)) == (12, 2, 10)
    assert all(q["file"] == str(bad_parquet) for q in res.quarantine)
    raw = res.quarantine[0]["raw"]  # the row as JSON (first 200 characters), columns in file order
    assert raw.startswith('{"request_id":"r2","timestamp":"2026-03-02T10:00:00Z","account_id":null,"model":"m"')
    assert len(raw) == 200
    assert '"client_ip":"10.0.0.300"' in res.quarantine[2]["raw"]  # a late check's row gets its raw too
    assert sorted(df["request_id"]) == ["r1", "r11"]
    r11 = df.set_index("request_id").loc["r11"]
    assert r11["user_text"] == "complete me" and r11["n_user_turns"] == 1
    assert str(r11["ts"]) == "2026-03-02 10:00:00+00:00"  # +02:00 read as an offset


def test_native_matches_general_path(bad_parquet, monkeypatch):
    res_n, df_n = _read(bad_parquet)
    monkeypatch.setattr(R, "native_parquet_ok", lambda *a, **k: False)
    res_j, df_j = _read(bad_parquet)
    assert res_n.quarantine == res_j.quarantine
    assert (res_n.rows_read, res_n.rows_accepted) == (res_j.rows_read, res_j.rows_accepted)
    assert list(df_n.columns) == list(df_j.columns)
    pd.testing.assert_frame_equal(df_n, df_j)


def test_ill_typed_column_falls_back_to_general_path(tmp_path):
    schema = pa.schema([("request_id", pa.string()), ("timestamp", pa.int64()), ("account_id", pa.string()),
                        ("model", pa.string()), ("prompt", pa.string()), ("status", pa.string())])
    rows = [dict(request_id="x1", timestamp=1_772_445_600_000, account_id="a", model="m", prompt="p", status="200"),
            dict(request_id="x2", timestamp=1_772_445_600_000, account_id="a", model="m", prompt="p", status=None)]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    eng = DuckDBEngine(threads=1)
    try:
        assert not R.native_parquet_ok(R._parquet_types(eng, path))
    finally:
        eng.close()
    res, df = _read(path)
    assert [(q["line"], q["field"], q["reason"]) for q in res.quarantine] == [(1, "status", "status must be an integer")]
    assert list(df["request_id"]) == ["x2"]


def test_native_path_quarantines_a_negative_token_count(tmp_path):
    path = tmp_path / "neg.parquet"
    pq.write_table(pa.Table.from_pylist([_row("r1"), _row("r2", max_tokens=-100), _row("r3", max_tokens=0)],
                                        schema=SCHEMA), path)
    res, df = _read(path)
    assert [(q["line"], q["field"], q["reason"]) for q in res.quarantine] == [
        (2, "max_tokens", "max_tokens must not be negative (a token count)")]
    assert sorted(df["request_id"]) == ["r1", "r3"]


def test_native_path_quarantines_a_nan_or_infinite_temperature(tmp_path):
    schema = SCHEMA.append(pa.field("temperature", pa.float64()))
    rows = [dict(_row("r1"), temperature=0.7), dict(_row("r2"), temperature=float("nan")),
            dict(_row("r3"), temperature=float("inf")), dict(_row("r4"), temperature=None)]
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    res, df = _read(path)
    reason = "temperature must be a finite number (NaN and Infinity are not JSON numbers)"
    assert [(q["line"], q["field"], q["reason"]) for q in res.quarantine] == [
        (2, "temperature", reason), (3, "temperature", reason)]
    assert sorted(df["request_id"]) == ["r1", "r4"]
