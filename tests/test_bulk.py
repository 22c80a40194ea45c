"""Bulk generator (``distillwatch simulate --requests N``): exact sizes, determinism, a schema the
native Parquet reader accepts without quarantine, and truth consistent with the rows.

Expected values come from the parameters (sizes, the campaign's fixed generation settings), not
from a run of the generator.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from distillwatch.engine import DuckDBEngine
from distillwatch.ingest.requests import _parquet_types, native_parquet_ok, read_requests
from distillwatch.ingest.tables import read_accounts
from distillwatch.simulate.bulk import BulkParams, _hex_ids, simulate_bulk

N = 6_000
PARAMS = BulkParams(n_requests=N, days=10, campaign_accounts=60, cluster_size=20, benign_accounts=200,
                    batch_rows=2_500)


@pytest.fixture(scope="module")
def shared():
    from distillwatch.corpora import load_corpora
    from distillwatch.intel import load_intel

    return load_intel(None), load_corpora(max_per_kind=300)


@pytest.fixture(scope="module")
def log(tmp_path_factory, shared):
    out = tmp_path_factory.mktemp("bulk")
    man = simulate_bulk(out, PARAMS, seed=5, intel=shared[0], corpora=shared[1])
    return out, man


def test_hex_ids_match_python_formatting():
    vals = np.array([0, 1, 255, 2**63 - 1, 0xDEADBEEF], np.uint64)
    assert _hex_ids(b"acct_", vals, 16).to_pylist() == [f"acct_{int(v):016x}" for v in vals]


def test_sizes_are_exact(log):
    out, man = log
    t = pq.read_table(out / "requests.parquet")
    assert t.num_rows == N == man["n_requests"]
    assert pq.ParquetFile(out / "requests.parquet").metadata.num_row_groups == 3  # 2500 + 2500 + 1000
    with open(out / "truth.csv") as fh:
        truth = list(csv.DictReader(fh))
    assert len(truth) == 260 == man["n_accounts"]
    assert sum(r["label"] == "attack" for r in truth) == 60
    assert man["campaign_clusters"] == 3
    assert pc.count_distinct(t["request_id"]).as_py() == N
    ts = t["timestamp"].to_numpy()
    assert (np.diff(ts) >= 0).all()  # time order
    start = 1_767_571_200_000  # 2026-01-05T00:00:00Z in epoch ms
    assert ts.min() >= start and ts.max() <= start + 10 * 86_400_000


def test_same_seed_same_rows_other_seed_other_rows(tmp_path, log, shared):
    out, _ = log
    a = pq.read_table(out / "requests.parquet")
    simulate_bulk(tmp_path / "again", PARAMS, seed=5, intel=shared[0], corpora=shared[1])
    assert pq.read_table(tmp_path / "again" / "requests.parquet").equals(a)
    simulate_bulk(tmp_path / "other", PARAMS, seed=6, intel=shared[0], corpora=shared[1])
    assert not pq.read_table(tmp_path / "other" / "requests.parquet")["account_id"].equals(a["account_id"])


def test_native_ingest_accepts_every_row(log):
    out, _ = log
    eng = DuckDBEngine(threads=2)
    try:
        assert native_parquet_ok(_parquet_types(eng, out / "requests.parquet"))
        res = read_requests(eng, out / "requests.parquet")
        assert (res.rows_read, res.rows_accepted, res.quarantine) == (N, N, [])
        acc = read_accounts(eng, out / "accounts.jsonl")
        assert (acc.rows_read, acc.rows_accepted, acc.quarantine) == (260, 260, [])
        orphans = eng.scalar("SELECT count(*) FROM requests WHERE account_id NOT IN (SELECT account_id FROM accounts)")
        assert orphans == 0
    finally:
        eng.close()


def test_campaign_truth_matches_rows(log):
    out, man = log
    t = pq.read_table(out / "requests.parquet").to_pandas()
    with open(out / "truth.csv") as fh:
        label = {r["account_id"]: r["label"] for r in csv.DictReader(fh)}
    accts = {json.loads(x)["account_id"]: json.loads(x) for x in (out / "accounts.jsonl").read_text().splitlines()}
    t["label"] = t["account_id"].map(label)
    camp, ben = t[t["label"] == "attack"], t[t["label"] == "benign"]
    assert len(camp) == man["campaign_requests"]
    assert abs(len(camp) / N - 0.5) < 0.03  # campaign_share 0.5; binomial sd 0.0065
    # the campaign's harness settings: max_tokens 8192, temperature 0.7, never streaming, a system prompt
    assert (camp["max_tokens"] == 8192).all() and (camp["temperature"] == 0.7).all() and not camp["stream"].any()
    assert camp["messages"].map(lambda m: m[0]["role"] == "system" and len(m) == 2).all()
    assert (ben["max_tokens"] <= 4096).all()
    # 60 campaign accounts in 3 clusters of 20: 3 system prompts, at most 3 cards per cluster
    assert camp["messages"].map(lambda m: m[0]["content"]).nunique() <= 3
    camp_cards = {accts[a]["payment_fingerprint"] for a in camp["account_id"].unique()}
    assert 1 <= len(camp_cards) <= 9
    # each cluster rotates over its own pool of 40 proxy addresses
    assert camp["client_ip"].nunique() <= 3 * 40


def test_cli_requests_switches_to_bulk_mode(tmp_path):
    from typer.testing import CliRunner

    from distillwatch.cli import app

    tmp_path = tmp_path / ("a-long-folder-name-" * 5)  # the printed paths pass 80 columns

    res = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--requests", "1500", "--campaign-accounts", "10",
                                   "--benign-accounts", "40", "--seed", "2", "--days", "5"])
    assert res.exit_code == 0, res.output
    assert pq.ParquetFile(tmp_path / "requests.parquet").metadata.num_rows == 1500
    assert not (tmp_path / "requests.jsonl").exists()
    man = json.loads((tmp_path / "manifest.json").read_text())
    assert (man["n_accounts"], man["params"]["days"]) == (50, 5)
    # what it prints is the manifest as JSON, machine-readable when piped (no hard wraps at 80 columns)
    printed = json.loads(res.stdout)
    assert printed["n_accounts"] == 50 and str(tmp_path) in json.dumps(printed)
