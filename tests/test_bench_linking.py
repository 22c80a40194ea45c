"""bench/bench_linking.py runs the real linking stage end to end on a small generated log.

The bench once rebuilt a few ``req_features`` columns by hand and broke silently when linking began
to read the classifier's columns; this runs its measurement at a small size so it cannot drift again.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_linking  # noqa: E402
import common  # noqa: E402


def test_linking_bench_measures_a_small_log(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "DATA", tmp_path)
    res = bench_linking.measure(2000, 60, 20000, seed=3, memory_limit=None)
    (d,) = [p for p in tmp_path.iterdir() if p.name.startswith("bulk_")]
    with open(d / "truth.csv") as fh:
        attack = [r["account_id"] for r in csv.DictReader(fh) if r["label"] == "attack"]
    assert len(attack) == 60  # the generator made the campaign the bench asked for
    assert res["campaign_accounts"] == 60 and res["requests"] == 20000
    assert 0 < res["accounts_with_requests"] <= 2000
    assert res["edges"] > 0 and res["linking_s"] >= res["communities_s"] >= 0
    # at most every campaign account can sit in a community of >= 50 campaign accounts
    assert 0 <= res["campaign_accounts_in_big_communities"] <= 60
