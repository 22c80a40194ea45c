"""Bad input: every quarantine reason of ``docs/input-format.md``, corrupted files, formats, timestamps.

A row that breaks the contract goes to the quarantine with (file, line, field, reason); it is never
dropped silently and never stops the run; ``rows_read = rows_accepted + quarantined``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distillwatch.engine import DuckDBEngine
from distillwatch.errors import InputError
from distillwatch.ingest.requests import read_requests
from distillwatch.ingest.tables import read_accounts, read_releases

from helpers import write_jsonl

HERE = Path(__file__).resolve().parent
TS = "2026-03-02T10:00:00Z"
T10 = pd.Timestamp("2026-03-02T10:00:00Z")


def ok(rid: str, **kw) -> dict:
    row = {"request_id": rid, "timestamp": TS, "account_id": "acct_a", "model": "aurora-2-pro",
           "messages": [{"role": "user", "content": "hello"}]}
    row.update(kw)
    return row


def without(row: dict, *keys) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


def dump(row) -> str:
    return json.dumps(row)


def ingest(path, reader=read_requests):
    eng = DuckDBEngine(threads=2)
    res = reader(eng, path)
    table = {"read_requests": "requests", "read_accounts": "accounts", "read_releases": "releases"}[reader.__name__]
    df = eng.table(f"SELECT * FROM {table}").to_pandas()
    eng.close()
    return res, df


MSG_REASON = "messages must be a non-empty list of {role, content}"
TS_TYPE_REASON = "timestamp must be "

# physical line -> (line content, field, reason); reason None = accepted; a reason ending in "..." is a prefix
CONTRACT_LINES: list[tuple[object, str | None, str | None]] = [
    (ok("ok1"), None, None),                                                                    # 1
    ("", None, "empty line"),                                                                   # 2
    ("   ", None, "empty line"),                                                                # 3
    (b'{"request_id": "bad\xff\xfe", "timestamp": "2026-03-02T10:00:00Z"}', None, "invalid UTF-8 bytes"),  # 4
    ('{"request_id": "x", "timestamp": ', None, "invalid JSON"),                                # 5
    ("[1, 2]", None, "not a JSON object"),                                                      # 6
    ('"just a string"', None, "not a JSON object"),                                             # 7
    (without(ok("r8"), "request_id"), "request_id", "missing required field request_id"),       # 8
    (ok(""), "request_id", "missing required field request_id"),                                # 9
    (ok(["a"]), "request_id", "request_id must be a string"),                                   # 10
    (ok("r11", account_id="  "), "account_id", "missing required field account_id"),           # 11
    (ok("r12", account_id={"x": 1}), "account_id", "account_id must be a string"),             # 12
    (ok("r13", model=None), "model", "missing required field model"),                           # 13
    (ok("r14", model=True), "model", "model must be a string"),                                 # 14
    (without(ok("r15"), "timestamp"), "timestamp", "missing required field timestamp"),         # 15
    (ok("r16", timestamp=True), "timestamp", TS_TYPE_REASON + "..."),                           # 16
    (ok("r17", timestamp=1.5e12), "timestamp", TS_TYPE_REASON + "..."),                         # 17
    (ok("r18", timestamp="yesterday"), "timestamp", "unparseable timestamp (expected RFC 3339)"),  # 18
    (ok("r19", timestamp="2026-13-45T99:00:00Z"), "timestamp", "unparseable timestamp (expected RFC 3339)"),  # 19
    (ok("r20", timestamp="1999-12-31T23:59:59Z"), "timestamp", "timestamp out of range (..."),  # 20
    (ok("r21", timestamp=1_700_000_000), "timestamp", "timestamp out of range (..."),           # 21 epoch seconds
    (without(ok("r22"), "messages"), "messages", "one of messages or prompt is required"),     # 22
    (ok("r23", messages=None, prompt=None), "messages", "one of messages or prompt is required"),  # 23
    (ok("r24", messages="hi"), "messages", "messages must be a list"),                          # 24
    (ok("r25", messages=[]), "messages", MSG_REASON + "..."),                                   # 25
    (ok("r26", messages=[{"role": "robot", "content": "x"}]), "messages", MSG_REASON + "..."),  # 26
    (ok("r27", messages=["hi"]), "messages", MSG_REASON + "..."),                               # 27
    (ok("r28", messages=[{"role": "user", "content": 5}]), "messages", MSG_REASON + "..."),     # 28
    (without(ok("r29", prompt=5), "messages"), "prompt", "prompt must be a string"),           # 29
    (ok("r30", tools={"name": "x"}), "tools", "tools must be a list"),                          # 30
    (ok("r31", max_tokens="100"), "max_tokens", "max_tokens must be an integer"),              # 31
    (ok("r32", max_tokens=1.5), "max_tokens", "max_tokens must be an integer"),                # 32
    (ok("r33", temperature="hot"), "temperature", "temperature must be a number"),             # 33
    (ok("r34", stream="yes"), "stream", "stream must be a boolean"),                            # 34
    (ok("r35", input_tokens=1.5), "input_tokens", "input_tokens must be an integer"),          # 35
    (ok("r36", output_tokens="7"), "output_tokens", "output_tokens must be an integer"),       # 36
    (ok("r37", status="200"), "status", "status must be an integer"),                           # 37
    (ok("r38", client_ip=5), "client_ip", "client_ip must be a string"),                        # 38
    (ok("r39", user_agent=["x"]), "user_agent", "user_agent must be a string"),                 # 39
    (ok("r40", response=5), "response", "response must be a string"),                           # 40
    (ok("r41", api_key_id=["k"]), "api_key_id", "api_key_id must be a string"),                 # 41
    (ok("r42", org_id={"o": 1}), "org_id", "org_id must be a string"),                          # 42
    (ok("r43", client_ip="999.1.2.3"), "client_ip", "invalid IP address: 999.1.2.3"),           # 43
    (ok("r44", client_ip="not-an-ip"), "client_ip", "invalid IP address: not-an-ip"),           # 44
    (ok("ok1"), "request_id", "duplicate request_id (first seen on line 1)"),                   # 45
    # first violation wins: the missing account_id comes before the bad timestamp
    (without(ok("r46", timestamp="yesterday"), "account_id"), "account_id", "missing required field account_id"),  # 46
    # accepted variants
    (ok("ok_roles", messages=[{"role": "developer", "content": "be brief"},
                              {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                              {"role": "assistant", "content": None},
                              {"role": "function", "content": "{}"}]), None, None),              # 47
    (without(ok("ok_prompt", prompt="Complete this"), "messages"), None, None),                 # 48
    (ok("ok_extra", metadata={"end_user": "u1"}, tools=[{"type": "function", "function": {"name": "f"}}],
        max_tokens=100, temperature=0, stream=True, input_tokens=3, output_tokens=4, status=200,
        response="ok", api_key_id="k1", org_id="o1", user_agent="curl/8"), None, None),         # 49
    (ok("ok_v6", client_ip="2001:db8::1"), None, None),                                         # 50
    (ok("ok_epoch", timestamp=1_772_445_600_000), None, None),                                  # 51
    (ok("ok_nulls", max_tokens=None, temperature=None, stream=None, client_ip=None), None, None),  # 52
    # impossible values: negative token counts, a negative temperature
    (ok("r53", output_tokens=-5), "output_tokens", "output_tokens must not be negative (a token count)"),   # 53
    (ok("r54", input_tokens=-1), "input_tokens", "input_tokens must not be negative (a token count)"),       # 54
    (ok("r55", max_tokens=-100), "max_tokens", "max_tokens must not be negative (a token count)"),           # 55
    (ok("r56", temperature=-3.0), "temperature", "temperature must not be negative"),                        # 56
    (ok("ok_zero", max_tokens=0, temperature=0.0, input_tokens=0, output_tokens=0), None, None),            # 57
    # NaN / Infinity: not JSON, but DuckDB's reader accepts the literals (found by a new-user trial)
    (dump(ok("r58")).replace('"model"', '"temperature": NaN, "model"'), "temperature",
     "temperature must be a finite number (NaN and Infinity are not JSON numbers)"),                       # 58
    (dump(ok("r59")).replace('"model"', '"temperature": Infinity, "model"'), "temperature",
     "temperature must be a finite number (NaN and Infinity are not JSON numbers)"),                       # 59
]


def _match(reason: str, expected: str) -> bool:
    return reason.startswith(expected[:-3]) if expected.endswith("...") else reason == expected


def test_every_quarantine_reason(tmp_path):
    path = write_jsonl(tmp_path / "contract.jsonl",
                       [row if isinstance(row, (str, bytes)) else dump(row) for row, _, _ in CONTRACT_LINES])
    res, df = ingest(path)
    expected_bad = {i + 1: (f, r) for i, (_, f, r) in enumerate(CONTRACT_LINES) if r is not None}
    got = {q["line"]: q for q in res.quarantine}
    assert sorted(got) == sorted(expected_bad)
    for line, (field, reason) in expected_bad.items():
        q = got[line]
        assert q["field"] == field, (line, q)
        assert _match(q["reason"], reason), (line, q["reason"], reason)
        assert q["file"] == str(path)
        assert len(q["raw"]) <= 200
    assert sorted(df["request_id"]) == sorted(["ok1", "ok_roles", "ok_prompt", "ok_extra", "ok_v6", "ok_epoch",
                                               "ok_nulls", "ok_zero"])
    assert res.rows_read == len(CONTRACT_LINES)
    assert res.rows_read == res.rows_accepted + len(res.quarantine)
    # the accepted duplicate is the FIRST occurrence
    assert df.loc[df["request_id"] == "ok1", "line_no"].tolist() == [1]


def test_quarantine_raw_is_first_200_characters(tmp_path):
    long_bad = ok("r1", client_ip="not-an-ip", messages=[{"role": "user", "content": "x" * 1000}])
    path = write_jsonl(tmp_path / "r.jsonl", [long_bad])
    res, _ = ingest(path)
    assert res.quarantine[0]["raw"] == dump(long_bad)[:200]


def test_raw_control_character_is_quarantined_as_invalid_json(tmp_path):
    line = dump(ok("r2")).replace('"hello"', '"hel\x02lo"')
    path = write_jsonl(tmp_path / "r.jsonl", [ok("r1"), line, ok("r3")])
    res, df = ingest(path)
    assert [(q["line"], q["reason"].startswith("invalid JSON")) for q in res.quarantine] == [(2, True)]
    assert sorted(df["request_id"]) == ["r1", "r3"]


def test_bare_carriage_return_in_a_line_is_quarantined_not_fatal(tmp_path):
    line = dump(ok("r2")).replace('"hello"', '"hel\rlo"')
    path = write_jsonl(tmp_path / "r.jsonl", [ok("r1"), line, ok("r3")])
    res, df = ingest(path)
    assert [q["line"] for q in res.quarantine] == [2]
    assert sorted(df["request_id"]) == ["r1", "r3"]


@pytest.mark.parametrize("sep, final", [("\n", "\n"), ("\r\n", "\r\n"), ("\n", "")],
                         ids=["lf", "crlf", "no-final-newline"])
def test_line_endings(tmp_path, sep, final):
    path = tmp_path / "r.jsonl"
    path.write_bytes((sep.join(dump(ok(f"r{i}")) for i in range(3)) + final).encode())
    res, df = ingest(path)
    assert (res.rows_read, res.rows_accepted, res.quarantine) == (3, 3, [])
    assert sorted(df["line_no"]) == [1, 2, 3]


def test_gzip_jsonl(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(dump(ok("r1")) + "\n\n" + dump(ok("r3")) + "\n")
    res, df = ingest(path)
    assert (res.rows_read, res.rows_accepted) == (3, 2)
    assert [(q["line"], q["reason"]) for q in res.quarantine] == [(2, "empty line")]
    assert sorted(df["line_no"]) == [1, 3]


# ---------------------------------------------------------------------------------------------
# (b) tests/external/corrupt.py at rate 0.01
# ---------------------------------------------------------------------------------------------
def _load_corrupt():
    spec = importlib.util.spec_from_file_location("dw_external_corrupt", HERE / "external" / "corrupt.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _varied_rows(n: int) -> list[dict]:
    base = datetime(2026, 3, 2, tzinfo=timezone.utc).timestamp()
    rows = []
    for i in range(n):
        t = base + 37 * i
        if i % 10 == 0:
            ts = int(t * 1000)
        elif i % 10 == 1:
            ts = datetime.fromtimestamp(t + 5.5 * 3600, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+05:30")
        else:
            ts = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        row = {"request_id": f"req_{i:05d}", "timestamp": ts, "account_id": f"acct_{i % 17:03d}",
               "client_ip": f"1.2.{i % 200}.{i % 250 + 1}" if i % 7 else f"2001:db8::{i:x}",
               "user_agent": "aurora-python/1.8.2", "model": "aurora-2-pro", "max_tokens": 1000 + i,
               "temperature": 0.7, "stream": bool(i % 2)}
        if i % 5 == 0:
            row["prompt"] = f"Complete the sentence number {i}: the quick brown fox"
        else:
            row["messages"] = [{"role": "system", "content": "You are helpful."},
                               {"role": "user", "content": f"Question {i}: what is {i} plus {i}?"}]
        if i % 3 == 0:
            row["metadata"] = {"end_user": f"u{i}"}
        rows.append(row)
    return rows


KIND_REASON = {"invalid_json": "invalid JSON", "missing_account_id": "missing required field account_id",
               "bad_timestamp": "unparseable timestamp (expected RFC 3339)", "bad_ip": "invalid IP address: ...",
               "non_utf8": "invalid UTF-8 bytes", "non_object": "not a JSON object"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_corrupted_lines_are_exactly_the_quarantine(tmp_path, seed):
    corrupt = _load_corrupt()
    n = 1200
    src = write_jsonl(tmp_path / "clean.jsonl", _varied_rows(n))
    report = corrupt.corrupt(src, tmp_path / "bad.jsonl", rate=0.01, seed=seed)
    assert len(report) == 12  # 6 kinds x round(1200 * 0.01 / 6)
    res, df = ingest(tmp_path / "bad.jsonl")
    bad = {r["line_no"]: r["kind"] for r in report}
    got = {q["line"]: q for q in res.quarantine}
    assert set(got) == set(bad)
    for line, kind in bad.items():
        assert _match(got[line]["reason"], KIND_REASON[kind]), (line, kind, got[line]["reason"])
    assert res.rows_read == n
    assert res.rows_accepted == n - len(bad)
    assert res.rows_read == res.rows_accepted + len(res.quarantine)
    assert set(df["line_no"]) == set(range(1, n + 1)) - set(bad)
    # an accepted line keeps its own request id (line k holds req_{k-1})
    assert all(df["request_id"] == [f"req_{k - 1:05d}" for k in df["line_no"]])


# ---------------------------------------------------------------------------------------------
# (c) Parquet gives the same accepted rows as the equivalent JSON Lines
# ---------------------------------------------------------------------------------------------
PQ_ROWS = [
    dict(request_id="p1", timestamp="2026-03-02T10:00:00Z", account_id="a1", model="m1", prompt="Complete this",
         messages=None, tools=None, client_ip="1.2.3.4", max_tokens=100, temperature=0.5, stream=False,
         user_agent="ua/1", org_id="o1", api_key_id="k1", response="done", input_tokens=5, output_tokens=7, status=200),
    dict(request_id="p2", timestamp="2026-03-02T15:30:00+05:30", account_id="a1", model="m1", prompt=None,
         messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write a Python function."}],
         tools=[{"name": "search", "description": "web search", "parameters": "{}"}], client_ip="2001:db8::7",
         max_tokens=None, temperature=None, stream=True, user_agent=None, org_id=None, api_key_id=None,
         response=None, input_tokens=None, output_tokens=None, status=None),
    dict(request_id="p3", timestamp="2026-03-03T00:00:00.250Z", account_id="a2", model="m2", prompt=None,
         messages=[{"role": "user", "content": "first"}, {"role": "assistant", "content": "reply"},
                   {"role": "user", "content": "second"}],
         tools=None, client_ip="not-an-ip", max_tokens=8000, temperature=1.0, stream=None, user_agent="ua/2",
         org_id=None, api_key_id="k2", response=None, input_tokens=1, output_tokens=0, status=429),
    dict(request_id="p1", timestamp="2026-03-04T00:00:00Z", account_id="a3", model="m1", prompt="dup",
         messages=None, tools=None, client_ip=None, max_tokens=None, temperature=None, stream=None, user_agent=None,
         org_id=None, api_key_id=None, response=None, input_tokens=None, output_tokens=None, status=None),
    dict(request_id="p5", timestamp="2026-03-05T08:00:00Z", account_id="a2", model="m2", prompt=None,
         messages=[{"role": "user", "content": "What is 2 + 2?"}], tools=None, client_ip="5.6.7.8", max_tokens=50,
         temperature=0.0, stream=False, user_agent="ua/2", org_id="o2", api_key_id="k2", response="4",
         input_tokens=3, output_tokens=1, status=200),
]
PQ_SCHEMA = pa.schema([
    ("request_id", pa.string()), ("timestamp", pa.string()), ("account_id", pa.string()), ("model", pa.string()),
    ("prompt", pa.string()),
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("tools", pa.list_(pa.struct([("name", pa.string()), ("description", pa.string()), ("parameters", pa.string())]))),
    ("client_ip", pa.string()), ("max_tokens", pa.int64()), ("temperature", pa.float64()), ("stream", pa.bool_()),
    ("user_agent", pa.string()), ("org_id", pa.string()), ("api_key_id", pa.string()), ("response", pa.string()),
    ("input_tokens", pa.int64()), ("output_tokens", pa.int64()), ("status", pa.int64()),
])


def test_parquet_matches_jsonl(tmp_path):
    pq.write_table(pa.Table.from_pylist(PQ_ROWS, schema=PQ_SCHEMA), tmp_path / "r.parquet")
    write_jsonl(tmp_path / "r.jsonl", [{k: v for k, v in r.items() if v is not None} for r in PQ_ROWS])
    res_pq, df_pq = ingest(tmp_path / "r.parquet")
    res_js, df_js = ingest(tmp_path / "r.jsonl")
    # row 3: invalid client_ip; row 4: duplicate of p1 (row 1)
    expected_q = [(3, "client_ip", "invalid IP address: not-an-ip"),
                  (4, "request_id", "duplicate request_id (first seen on line 1)")]
    for res in (res_pq, res_js):
        assert [(q["line"], q["field"], q["reason"]) for q in res.quarantine] == expected_q
        assert (res.rows_read, res.rows_accepted) == (5, 3)
    a = df_pq.sort_values("request_id").reset_index(drop=True)
    b = df_js.sort_values("request_id").reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    p2 = a.set_index("request_id").loc["p2"]
    assert p2["system_text"] == "Be brief." and p2["user_text"] == "Write a Python function."
    assert list(p2["tool_names"]) == ["search"]
    assert a.set_index("request_id").loc["p1", "user_text"] == "Complete this"



# is_continuation: the last message is an assistant, tool or function message (an agent or tool loop
# step that re-sends an earlier user message), worked out by hand for each shape
_SYS = {"role": "system", "content": "You are a coding agent."}
_ASK = {"role": "user", "content": "Fix the failing test."}
_CALL = {"role": "assistant", "content": "run_command(pytest -q)"}
_RESULT = {"role": "tool", "content": "1 failed"}
CONTINUATION_CASES = [
    ("c_prompt", None, False),                                            # prompt form: a new ask
    ("c_ask", [_SYS, _ASK], False),                                       # first step of a run
    ("c_tool_step", [_SYS, _ASK, _CALL, _RESULT], True),                  # step 2: tool result last
    ("c_function", [_ASK, {"role": "function", "content": "ok"}], True),  # legacy function role
    ("c_assistant_last", [_ASK, _CALL], True),                            # assistant prefill / continuation
    ("c_next_turn", [_ASK, _CALL, _RESULT, {"role": "assistant", "content": "Fixed."},
                     {"role": "user", "content": "Now add a test."}], False),  # a new user turn
]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_is_continuation(tmp_path, fmt):
    rows = [dict(request_id=rid, timestamp="2026-03-02T10:00:00Z", account_id="a1", model="m1",
                 prompt="Complete this" if msgs is None else None, messages=msgs)
            for rid, msgs, _ in CONTINUATION_CASES]
    if fmt == "parquet":
        schema = pa.schema([("request_id", pa.string()), ("timestamp", pa.string()), ("account_id", pa.string()),
                            ("model", pa.string()), ("prompt", pa.string()),
                            ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])))])
        path = tmp_path / "c.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    else:
        path = write_jsonl(tmp_path / "c.jsonl", [{k: v for k, v in r.items() if v is not None} for r in rows])
    res, df = ingest(path)
    assert res.quarantine == []
    got = dict(zip(df["request_id"], df["is_continuation"].astype(bool)))
    assert got == {rid: want for rid, _, want in CONTINUATION_CASES}

# ---------------------------------------------------------------------------------------------
# (d) timestamps parse to the right UTC instant
# ---------------------------------------------------------------------------------------------
EPOCH_10 = int(datetime(2026, 3, 2, 10, tzinfo=timezone.utc).timestamp() * 1000)
TS_CASES = [
    ("z", "2026-03-02T10:00:00Z", T10),
    ("plus_0530", "2026-03-02T15:30:00+05:30", T10),
    ("minus_0500", "2026-03-02T05:00:00-05:00", T10),
    ("zero_offset", "2026-03-02T10:00:00+00:00", T10),
    ("previous_day", "2026-03-01T23:30:00-10:30", T10),
    ("millis", "2026-03-02T10:00:00.123Z", T10 + pd.Timedelta(milliseconds=123)),
    ("epoch_ms", EPOCH_10, T10),
    ("epoch_ms_fraction", EPOCH_10 + 123, T10 + pd.Timedelta(milliseconds=123)),
    ("lower_bound", "2000-01-01T00:00:00Z", pd.Timestamp("2000-01-01T00:00:00Z")),
    ("upper_end", "2099-12-31T23:59:59Z", pd.Timestamp("2099-12-31T23:59:59Z")),
    ("epoch_ms_2000", 946_684_800_000, pd.Timestamp("2000-01-01T00:00:00Z")),
]


def test_timestamps_parse_to_utc(tmp_path):
    assert EPOCH_10 == 1_772_445_600_000
    path = write_jsonl(tmp_path / "r.jsonl", [ok(name, timestamp=ts) for name, ts, _ in TS_CASES])
    res, df = ingest(path)
    assert res.quarantine == []
    got = df.set_index("request_id")["ts"]
    for name, _, want in TS_CASES:
        assert got[name] == want, name
        assert str(got[name].tz) == "UTC"


@pytest.mark.parametrize("ts", ["1999-12-31T23:59:59.999Z", 946_684_799_999, "2000-01-01T04:59:59+05:00"])
def test_timestamps_before_2000_are_out_of_range(tmp_path, ts):
    res, df = ingest(write_jsonl(tmp_path / "r.jsonl", [ok("r", timestamp=ts)]))
    assert len(df) == 0
    assert res.quarantine[0]["reason"].startswith("timestamp out of range")


@pytest.mark.parametrize("ts", ["2100-01-01T00:00:00Z", 4_102_444_800_000])
def test_year_2100_is_out_of_range(tmp_path, ts):
    res, df = ingest(write_jsonl(tmp_path / "r.jsonl", [ok("r", timestamp=ts)]))
    assert len(df) == 0
    assert res.quarantine and res.quarantine[0]["reason"].startswith("timestamp out of range")


def test_timestamps_after_2100_are_out_of_range(tmp_path):
    res, df = ingest(write_jsonl(tmp_path / "r.jsonl", [ok("r", timestamp="2100-01-01T00:00:01Z")]))
    assert len(df) == 0
    assert res.quarantine[0]["reason"].startswith("timestamp out of range")


# ---------------------------------------------------------------------------------------------
# (e) unreadable files raise InputError naming the path
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reader", [read_requests, read_accounts, read_releases])
def test_missing_file_raises_input_error(tmp_path, reader):
    path = tmp_path / "nowhere" / "missing.jsonl"
    with pytest.raises(InputError) as exc:
        reader(DuckDBEngine(threads=1), path)
    assert str(path) in str(exc.value)


def test_unknown_suffix_raises_input_error(tmp_path):
    path = tmp_path / "requests.txt"
    path.write_text(dump(ok("r1")) + "\n")
    with pytest.raises(InputError) as exc:
        read_requests(DuckDBEngine(threads=1), path)
    assert str(path) in str(exc.value)


def test_corrupt_parquet_raises_input_error(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError) as exc:
        read_requests(DuckDBEngine(threads=1), path)
    assert str(path) in str(exc.value)


# ---------------------------------------------------------------------------------------------
# (f) accounts (JSON Lines and CSV) and releases
# ---------------------------------------------------------------------------------------------
ACCOUNT_ROWS = [
    # (row, field, reason) ; reason None = accepted ; "..." = prefix
    ({"account_id": "a1", "created_at": "2026-01-01T00:00:00Z", "email_domain": "Example.COM",
      "payment_fingerprint": "fp1", "billing_country": "de", "org_id": "o1", "verification": "edu",
      "signup_ip": "1.2.3.4"}, None, None),
    ({"account_id": "a2", "created_at": "2026-01-02T05:00:00+05:00", "verification": "", "signup_ip": "2001:db8::1"},
     None, None),
    ({"account_id": "a3", "created_at": "last week"}, "created_at", "unparseable created_at..."),
    ({"account_id": "a4", "verification": "gold"}, "verification", "verification must be one of..."),
    ({"account_id": "a5", "billing_country": "USA"}, "billing_country",
     "billing_country must be an ISO 3166-1 alpha-2 code"),
    ({"account_id": "a6", "signup_ip": "999.1.1.1"}, "signup_ip", "invalid IP address: 999.1.1.1"),
    ({"account_id": "a1", "verification": "none"}, "account_id", "duplicate account_id (first seen on line {first})"),
    ({"email_domain": "x.com"}, "account_id", "missing required field account_id"),
    ({"account_id": "a9"}, None, None),
]
ACCOUNTS_EXPECTED = {
    "a1": dict(email_domain="example.com", billing_country="DE", verification="edu", payment_fingerprint="fp1",
               org_id="o1", signup_ip="1.2.3.4", created_at=pd.Timestamp("2026-01-01T00:00:00Z")),
    "a2": dict(verification="none", signup_ip="2001:db8::1", created_at=pd.Timestamp("2026-01-02T00:00:00Z")),
    "a9": dict(verification="none"),
}


def _check_accounts(res, df, line_of):
    expected = {line_of(i): (f, r) for i, (_, f, r) in enumerate(ACCOUNT_ROWS) if r is not None}
    got = {q["line"]: q for q in res.quarantine}
    assert sorted(got) == sorted(expected)
    for line, (field, reason) in expected.items():
        reason = reason.replace("{first}", str(line_of(0)))
        assert got[line]["field"] == field
        assert _match(got[line]["reason"], reason), (line, got[line]["reason"], reason)
    assert sorted(df["account_id"]) == sorted(ACCOUNTS_EXPECTED)
    rows = df.set_index("account_id")
    for acc, cols in ACCOUNTS_EXPECTED.items():
        for col, want in cols.items():
            assert rows.loc[acc, col] == want, (acc, col)
    assert res.rows_read == len(ACCOUNT_ROWS)
    assert res.rows_read == res.rows_accepted + len(res.quarantine)


def test_accounts_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "accounts.jsonl", [r for r, _, _ in ACCOUNT_ROWS])
    res, df = ingest(path, read_accounts)
    _check_accounts(res, df, lambda i: i + 1)


def test_accounts_jsonl_empty_and_broken_lines(tmp_path):
    path = write_jsonl(tmp_path / "accounts.jsonl", [{"account_id": "a1"}, "", "{oops", "[1]"])
    res, df = ingest(path, read_accounts)
    assert [(q["line"], q["reason"]) for q in res.quarantine] == [(2, "empty line"), (3, "invalid JSON"),
                                                                  (4, "not a JSON object")]
    assert list(df["account_id"]) == ["a1"]


CSV_HEADER = ["account_id", "created_at", "email_domain", "payment_fingerprint", "billing_country", "org_id",
              "verification", "signup_ip"]


def _csv(rows, header=CSV_HEADER) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    return buf.getvalue()


def test_accounts_csv(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(_csv([r for r, _, _ in ACCOUNT_ROWS]))
    res, df = ingest(path, read_accounts)
    _check_accounts(res, df, lambda i: i + 2)  # the header is line 1


def test_releases(tmp_path):
    path = write_jsonl(tmp_path / "releases.jsonl", [
        {"model": "aurora-3-pro", "released_at": "2026-03-12T16:00:00Z"},
        {"released_at": "2026-03-12T16:00:00Z"},
        {"model": "aurora-3-mini", "released_at": "soon"},
        "{not json",
        {"model": "aurora-2-pro", "released_at": "2025-11-04T18:00:00+01:00"},
        "[1]",
    ])
    res, df = ingest(path, read_releases)
    got = [(q["line"], q["field"], q["reason"]) for q in res.quarantine]
    assert [g[:2] for g in got] == [(2, "model"), (3, "released_at"), (4, None), (6, None)]
    assert got[0][2] == "missing required field model"
    assert got[1][2].startswith("unparseable released_at")
    assert got[2][2] == "invalid JSON"
    assert got[3][2] == "not a JSON object"
    rel = df.set_index("model")["released_at"]
    assert rel["aurora-3-pro"] == pd.Timestamp("2026-03-12T16:00:00Z")
    assert rel["aurora-2-pro"] == pd.Timestamp("2025-11-04T17:00:00Z")
    assert (res.rows_read, res.rows_accepted) == (6, 2)


# ---------------------------------------------------------------------------------------------
# (g) CSV rows with the wrong number of columns / blank lines
# ---------------------------------------------------------------------------------------------
def test_accounts_csv_row_with_extra_column(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,created_at,verification\n"
                    "a1,2026-01-01T00:00:00Z,none\n"
                    "a2,2026-01-01T00:00:00Z,none,EXTRA\n"
                    "a3,2026-01-01T00:00:00Z,email\n")
    res, df = ingest(path, read_accounts)
    assert sorted(df["account_id"]) == ["a1", "a3"]
    assert [q["line"] for q in res.quarantine] == [3]
    assert res.rows_read == 3


def test_accounts_csv_line_numbers_after_a_blank_line(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,created_at,verification\n"
                    "a1,2026-01-01T00:00:00Z,none\n"
                    "\n"
                    "a3,2026-01-01T00:00:00Z,gold\n")
    res, df = ingest(path, read_accounts)
    assert list(df["account_id"]) == ["a1"]
    assert [q["line"] for q in res.quarantine if q["reason"].startswith("verification")] == [4]
