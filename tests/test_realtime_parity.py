"""Replay parity: a simulated log fed through the service in time order, then re-linked, gives the
same tiers, risks and campaigns as ``distillwatch scan`` on the same log; the service's per-request
signals agree with the batch SQL signals row for row (``cot_from_system`` included, the input of
the crowd-prompt rule; ``tests/test_realtime_crowd.py`` is the parity case with crowd-prompt
accounts in it).

Stated tolerance: zero tier differences, risk differences <= 1e-6, identical campaign partitions
(after the final re-link the service's tiers come from the same pipeline on the same rows).
"""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from distillwatch.realtime.app import ServiceConfig, create_app  # noqa: E402
from distillwatch.realtime.features import request_features  # noqa: E402
from distillwatch.realtime.models import RequestEvent, parse_timestamp_ms  # noqa: E402

H = {"Authorization": "Bearer t"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from distillwatch.simulate import simulate

    d = tmp_path_factory.mktemp("sim")
    simulate(d, seed=23, scale=0.02, days=5)
    rows = [json.loads(line) for line in open(d / "requests.jsonl", encoding="utf-8")]
    return d, rows


def _partition(pairs):
    groups: dict[str, set] = {}
    for a, c in pairs:
        if c:
            groups.setdefault(c, set()).add(a)
    return sorted(sorted(g) for g in groups.values())


def test_replay_through_serve_matches_scan(sim, tmp_path):
    from distillwatch.pipeline import scan

    d, rows = sim
    batch = scan(d / "requests.jsonl", out=None, accounts=d / "accounts.jsonl", releases=d / "releases.jsonl",
                 write_report=False)
    acc = batch.accounts.set_index("account_id")
    assert batch.campaigns, "the simulated log should hold at least one campaign"

    cfg = ServiceConfig(state_dir=tmp_path / "state", token="t", accounts=d / "accounts.jsonl",
                        releases=d / "releases.jsonl", relink_every_s=0, relink_every_events=0)
    ordered = sorted(rows, key=lambda r: parse_timestamp_ms(r["timestamp"]))
    with TestClient(create_app(cfg)) as c:
        for i in range(0, len(ordered), 1000):
            r = c.post("/v1/events", json={"events": ordered[i:i + 1000]}, headers=H)
            assert r.status_code == 200, r.text[:500]
        run = c.post("/v1/relink", headers=H).json()["run"]
        assert run["n_events"] == len(rows)
        views = {a: c.get(f"/v1/accounts/{a}", headers=H).json() for a in acc.index}

    per_account = Counter(r["account_id"] for r in rows)           # counted from the file, independently
    tier_diff = [a for a, v in views.items() if v["relink"]["tier"] != acc.at[a, "tier"]]
    risk_diff = max(abs(v["relink"]["risk"] - float(acc.at[a, "risk"])) for a, v in views.items())
    assert tier_diff == []
    assert risk_diff <= 1e-6
    assert _partition((a, v["relink"]["campaign_id"]) for a, v in views.items()) == \
        _partition(acc["campaign_id"].items())
    assert {a: v["requests"] for a, v in views.items()} == dict(per_account)


def test_streaming_request_signals_match_the_batch_sql(sim):
    from helpers import request_features as batch_request_features

    d, rows = sim
    df, _ = batch_request_features(d / "requests.jsonl")
    mismatch = Counter()
    for r in rows:
        f = request_features(RequestEvent.model_validate(r))
        b = df.loc[r["request_id"]]
        mismatch["capability"] += f.capability != b["capability"]
        mismatch["is_cot"] += f.is_cot != bool(b["is_cot"])
        mismatch["is_rubric"] += f.is_rubric != bool(b["is_rubric"])
        mismatch["cot_from_system"] += f.cot_from_system != bool(b["cot_from_system"])
        mismatch["system_hash"] += (f.system_hash is None) != pd.isna(b["system_hash"])
    assert sum(mismatch.values()) == 0, dict(mismatch)
