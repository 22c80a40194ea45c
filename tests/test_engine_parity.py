"""The same scan on DuckDB and on Spark (local mode) gives the same answer.

One simulated log (seed 5, scale 0.01, 4 days: about 2,900 requests, 40 accounts, 4 campaigns) with
five corrupted lines inserted after line 100 is scanned by both engines. Asserted: the same tier
for every account, the same campaigns (as sets of member sets), risks within 1e-6, and the same
canonical ``requests`` table and quarantine (line numbers and reasons, worked out by hand below).
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from distillwatch.engine.duckdb import DuckDBEngine
from distillwatch.engine.spark import SparkEngine
from distillwatch.errors import EngineError
from distillwatch.ingest.requests import read_requests
from distillwatch.pipeline import scan

INSERT_AFTER = 100
"""Corrupted lines go after this line of the simulated log, so they are lines 101-105."""


def _bad_lines(first: dict) -> list[tuple[str, str | None, str]]:
    """(line text, quarantined field, reason) for each corrupted line, in file order."""
    ok = {"request_id": "bad-1", "account_id": "acct_bad", "timestamp": "2026-04-23T00:00:00Z",
          "model": "aurora-2", "prompt": "hello there"}
    no_account = {k: v for k, v in ok.items() if k != "account_id"} | {"request_id": "bad-2"}
    return [
        ('{"request_id": "bad-0", ', None, "invalid JSON"),
        (json.dumps(no_account), "account_id", "missing required field account_id"),
        (json.dumps(ok | {"request_id": "bad-3", "timestamp": "yesterday"}), "timestamp",
         "unparseable timestamp (expected RFC 3339)"),
        (json.dumps(ok | {"request_id": "bad-4", "client_ip": "999.1.1.1"}), "client_ip",
         "invalid IP address: 999.1.1.1"),
        (json.dumps(ok | {"request_id": first["request_id"]}), "request_id",
         "duplicate request_id (first seen on line 1)"),
    ]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    from distillwatch.simulate import simulate

    d = tmp_path_factory.mktemp("parity")
    simulate(d, seed=5, scale=0.01, days=4)
    lines = (d / "requests.jsonl").read_text().splitlines()
    bad = _bad_lines(json.loads(lines[0]))
    lines[INSERT_AFTER:INSERT_AFTER] = [b[0] for b in bad]
    (d / "requests.jsonl").write_text("\n".join(lines) + "\n")
    return d, bad


@pytest.fixture(scope="module")
def scans(log, spark):
    d, _ = log
    kw = dict(accounts=d / "accounts.jsonl", releases=d / "releases.jsonl", write_report=False)
    duck = scan(d / "requests.jsonl", engine="duckdb", **kw)
    sprk = scan(d / "requests.jsonl", engine="spark", **kw)
    return duck, sprk


def test_scan_has_something_to_compare(scans):
    duck, _ = scans
    assert duck.summary["rows_quarantined"] >= 5
    assert len(duck.campaigns) >= 2
    assert duck.summary["tiers"]["ban"] > 0 and duck.summary["tiers"]["clear"] > 0


def test_same_accounts_and_tiers(scans):
    duck, sprk = scans
    d = dict(zip(duck.accounts["account_id"], duck.accounts["tier"]))
    s = dict(zip(sprk.accounts["account_id"], sprk.accounts["tier"]))
    assert d == s


def test_risks_within_1e6(scans):
    duck, sprk = scans
    d = dict(zip(duck.accounts["account_id"], duck.accounts["risk"]))
    s = dict(zip(sprk.accounts["account_id"], sprk.accounts["risk"]))
    assert d.keys() == s.keys()
    worst = max(abs(d[a] - s[a]) for a in d)
    assert worst <= 1e-6


def test_same_campaigns(scans):
    duck, sprk = scans
    assert {frozenset(c["accounts"]) for c in duck.campaigns} == {frozenset(c["accounts"]) for c in sprk.campaigns}
    assert [c["campaign_id"] for c in duck.campaigns] == [c["campaign_id"] for c in sprk.campaigns]


def test_same_counts(scans):
    duck, sprk = scans
    for k in ("rows_read", "rows_scored", "rows_quarantined", "accounts", "tiers", "campaigns", "link_edges"):
        assert duck.summary[k] == sprk.summary[k], k
    assert sprk.summary["engine"] == "spark"


def test_same_requests_table_and_quarantine(log, spark):
    d, bad = log
    duck = DuckDBEngine()
    sprk = SparkEngine(spark=spark)
    try:
        rd = duck.ingest(read_requests, d / "requests.jsonl", "requests")
        rs = sprk.ingest(read_requests, d / "requests.jsonl", "requests")
        td = duck.table("SELECT * FROM requests ORDER BY line_no")
        ts = sprk.table("SELECT * FROM requests ORDER BY line_no")
    finally:
        duck.close()
        sprk.close()
    assert rd.quarantine == rs.quarantine
    assert (rd.rows_read, rd.rows_accepted) == (rs.rows_read, rs.rows_accepted)
    by_line = {q["line"]: (q["field"], q["reason"]) for q in rs.quarantine}
    for k, (_, field, reason) in enumerate(bad):
        assert by_line[INSERT_AFTER + 1 + k] == (field, reason)
    assert td.column_names == ts.column_names
    assert td.num_rows == ts.num_rows == rd.rows_accepted
    for name in td.column_names:
        assert td.column(name).to_pylist() == ts.column(name).to_pylist(), name


def test_map_batches_on_spark(spark):
    eng = SparkEngine(spark=spark)
    try:
        eng.register("texts", pa.table({"id": pa.array([1, 2, 3], pa.int64()),
                                        "text": pa.array(["abc", "", "héllo"], pa.string())}))
        schema = pa.schema([("id", pa.int64()), ("n_chars", pa.int32())])

        def count(batch: pa.RecordBatch) -> pa.RecordBatch:
            return pa.record_batch([batch.column("id"), pc.utf8_length(batch.column("text"))], schema=schema)

        eng.map_batches("count", "lengths", "SELECT id, text FROM texts", count, schema, batch_rows=2)
        got = eng.table("SELECT id, n_chars FROM lengths ORDER BY id").to_pylist()
        assert got == [{"id": 1, "n_chars": 3}, {"id": 2, "n_chars": 0}, {"id": 3, "n_chars": 5}]

        def wrong(batch: pa.RecordBatch) -> pa.RecordBatch:
            return pa.record_batch([batch.column("id")], names=["id"])

        with pytest.raises(EngineError):
            eng.map_batches("wrong", "bad", "SELECT id, text FROM texts", wrong, schema)
        assert eng.has_table("lengths") and not eng.has_table("bad")
    finally:
        eng.close()
    assert not spark.catalog.tableExists("lengths")


def test_union_of_checkpointed_tables_and_drop_if_exists_on_spark(spark):
    """The linking stage concatenates per-kind tables and drops them: both failed on Spark before
    (constraint propagation over a UNION ALL of checkpoints; sqlglot 30's DROP keeps names in ``tables``)."""
    eng = SparkEngine(spark=spark)
    try:
        eng.register("src", pa.table({"account_id": ["a1", "a1", "a2", "a3"], "v": ["x", "y", None, "z"],
                                      "w": ["p", None, "q", "q"]}))
        eng.run("t", "CREATE OR REPLACE TABLE totals AS SELECT account_id, count(*) AS n_req FROM src GROUP BY account_id")
        for name, col in (("part_a", "v"), ("part_b", "w")):
            eng.run("t", f"""CREATE OR REPLACE TABLE {name} AS
                WITH r AS (SELECT account_id, {col} || '@' AS artifact FROM src WHERE {col} IS NOT NULL),
                agg AS (SELECT account_id, artifact, count(*) AS n FROM r GROUP BY account_id, artifact)
                SELECT agg.account_id, '{name}' AS kind, artifact, n::BIGINT AS n, sqrt(n / t.n_req) AS support
                FROM agg JOIN totals t USING (account_id)""")
        eng.run("t", "CREATE OR REPLACE TABLE both_parts AS SELECT account_id, kind, artifact, n, support FROM part_a "
                     "UNION ALL SELECT account_id, kind, artifact, n, support FROM part_b")
        got = eng.table("SELECT kind, artifact, count(*) AS holders FROM both_parts GROUP BY ALL ORDER BY ALL").to_pylist()
        assert got == [{"kind": "part_a", "artifact": "x@", "holders": 1}, {"kind": "part_a", "artifact": "y@", "holders": 1},
                       {"kind": "part_a", "artifact": "z@", "holders": 1}, {"kind": "part_b", "artifact": "p@", "holders": 1},
                       {"kind": "part_b", "artifact": "q@", "holders": 2}]
        eng.run("t", "DROP TABLE IF EXISTS part_a")
        eng.run("t", "DROP TABLE IF EXISTS never_made")
        assert not eng.has_table("part_a") and eng.has_table("part_b")
    finally:
        eng.close()
