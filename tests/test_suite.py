"""``distillwatch evaluate --suite``: the scenario suite at reduced scale, floors asserted; and its parts."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.evaluate.replay import index_log, replay
from distillwatch.evaluate.suite import CI_FLOORS, Floors, SuiteResult, _pool, check_floors, write_markdown
from helpers import write_jsonl

CI_SEED = 202
"""A seed never used to set a threshold (tuning: 1, 2, 201); the CI run is a regression guard, not a report."""


@pytest.mark.slow
def test_suite_runs_every_scenario_and_meets_the_ci_floors(tmp_path):
    out, doc = tmp_path / "suite", tmp_path / "evaluation.md"
    r = CliRunner().invoke(app, ["evaluate", "--suite", "--seeds", str(CI_SEED), "--scale", "0.02", "--out", str(out),
                                 "--doc", str(doc), "--floors", "ci"])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "suite.json").read_text())
    rows = {x["scenario"]: x for x in data["rows"]}
    from distillwatch.simulate.scenarios import SCENARIOS

    assert set(rows) == set(SCENARIOS)
    # the same run holds every baseline, for every scenario
    assert {(b["scenario"], b["baseline"]) for b in data["baselines"]} == {
        (s, b) for s in SCENARIOS for b in ("rate_limit", "prada", "isolation_forest", "mmd_window")}
    # independent recomputation of one scenario's pooled figures from the per-run truth comparison
    run = next(x for x in data["runs"] if x["scenario"] == "reference")
    br = run["metrics"]["ban_review"]
    assert rows["reference"]["precision"] == pytest.approx(br["tp"] / (br["tp"] + br["fp"]))
    text = doc.read_text()
    assert "| reference |" in text and "## Baselines, same logs" in text and "## Time to detection" in text


def _row(**kw):
    base = dict(scenario="x", kind="evasion", precision=1.0, recall=1.0, ban_precision=1.0, ari=1.0,
                hard_negatives_banned=0, max_share_to_flag=0.001)
    base.update(kw)
    return base


@pytest.mark.parametrize("row, expected", [
    (_row(), []),
    (_row(precision=0.98), ["x: ban+review precision 0.980 < 0.99"]),
    (_row(recall=None), []),  # a scenario without attack accounts has no recall to check
    (_row(hard_negatives_banned=2), ["x: 2 hard-negative accounts banned"]),
    (_row(max_share_to_flag=math.inf), ["x: a campaign was never flagged, not even with the whole log in (floor: flagged before 0.01 of its requests)"]),
])
def test_check_floors(row, expected):
    res = SuiteResult([row], [], pd.DataFrame(), [])
    assert check_floors(res, Floors()) == expected


def test_split_recall_drop_is_checked():
    rows = [_row(scenario="split_1000", recall=0.99), _row(scenario="split_20000", recall=0.90)]
    assert check_floors(SuiteResult(rows, [], pd.DataFrame(), []), Floors(recall=0.8)) == [
        "split: recall falls 0.090 from 1,000 to 20,000 accounts (floor 0.05)"]


def test_pool_sums_counts_over_seeds():
    def run(tp, fp, fn, btp, bfp, ari, reps):
        return {"scenario": "reference", "n_requests": 100, "hard_negatives_banned": 0, "replay": reps,
                "metrics": {"ban_review": {"tp": tp, "fp": fp, "fn": fn}, "ban": {"tp": btp, "fp": bfp, "fn": 0},
                            "ari": ari, "ari_all": ari, "n_attack": tp + fn, "n_benign": 50}}
    r = _pool("reference", [run(9, 1, 0, 5, 0, 0.9, [{"flagged": True, "hours_to_flag": 2.0, "requests_to_flag": 5,
                                                      "share_to_flag": 0.01}]),
                            run(10, 0, 1, 5, 0, 0.7, [{"flagged": False}])])
    assert r["precision"] == pytest.approx(19 / 20) and r["recall"] == pytest.approx(19 / 20)
    assert r["ban_precision"] == 1.0 and r["ari"] == pytest.approx(0.8)
    assert r["campaigns_never_flagged"] == 1 and math.isinf(r["max_share_to_flag"])


def test_markdown_keeps_hand_written_notes(tmp_path):
    from distillwatch.evaluate.suite import NOTES_MARKER

    doc = tmp_path / "evaluation.md"
    doc.write_text(f"old table\n{NOTES_MARKER}\n\nWhy split_20000 misses: ...\n")
    row = _row(scenario="reference", kind="reference", requests=10, attack_accounts=1, benign_accounts=2,
               ari_attack=1.0, max_requests_to_flag=3, max_hours_to_flag=1.0, description="d")
    res = SuiteResult([row], [], pd.DataFrame(), [], {"seeds": [301], "scale": 1.0, "version": "t", "seconds": 1})
    write_markdown(res, doc, "distillwatch evaluate --suite")
    text = doc.read_text()
    assert "old table" not in text and "Why split_20000 misses: ..." in text and "| reference |" in text


# ----------------------------------------------------------------------------------- replay
class _FakeScan:
    """Flags an account once the prefix holds >= 3 of its requests (a stand-in scanner)."""

    def __init__(self):
        self.calls = []

    def __call__(self, path, accounts=None, releases=None, write_report=False):
        rows = [json.loads(x) for x in open(path)]
        self.calls.append(len(rows))
        counts = pd.Series([r["account_id"] for r in rows]).value_counts()

        class R:
            accounts = pd.DataFrame({"account_id": counts.index, "tier": np.where(counts.values >= 3, "review", "clear")})
        return R()


def test_replay_reports_hours_and_share_at_the_first_flagging_checkpoint(tmp_path):
    t0 = pd.Timestamp("2026-04-22T00:00:00Z")
    rows = []
    # campaign c: one request every 30 minutes for 10 hours (20 requests), account a1
    for i in range(20):
        rows.append({"request_id": f"c{i}", "timestamp": (t0 + pd.Timedelta(minutes=30 * i)).isoformat(),
                     "account_id": "a1", "model": "m", "messages": []})
    # benign b: epoch-ms timestamps, never flagged (2 requests)
    for i in range(2):
        rows.append({"request_id": f"b{i}", "timestamp": int((t0 + pd.Timedelta(hours=i)).value // 1_000_000),
                     "account_id": "b1", "model": "m", "messages": []})
    path = write_jsonl(tmp_path / "log.jsonl", rows + ["not json"])
    truth = pd.DataFrame({"account_id": ["a1", "b1"], "label": ["attack", "benign"], "campaign": ["c", "benign:x"]})
    idx = index_log(path)
    assert (idx.ts_ms >= 0).sum() == 22 and idx.ts_ms[-1] == -1
    scan = _FakeScan()
    rep = replay(path, truth, checkpoints_h=(0.5, 1.0, 2.0, 4.0), scan_fn=scan)
    r = rep.iloc[0]
    # at 0.5 h the prefix holds c0, c1 (2 requests): not flagged; at 1 h c0..c2 (3): flagged
    assert r["flagged"] and r["hours_to_flag"] == 1.0 and r["requests_to_flag"] == 3
    assert r["share_to_flag"] == pytest.approx(3 / 20) and r["scans"] == 2
    assert len(scan.calls) == 2  # no scan after the only campaign is flagged


def test_replay_always_scans_at_a_campaigns_last_request(tmp_path):
    t0 = pd.Timestamp("2026-04-22T00:00:00Z")
    # 3 requests at 0, 5 and 10 minutes: flagged (>= 3 requests) only once the last one is in,
    # which no hourly checkpoint reaches
    rows = [{"request_id": f"c{i}", "timestamp": (t0 + pd.Timedelta(minutes=5 * i)).isoformat(), "account_id": "a1",
             "model": "m", "messages": []} for i in range(3)]
    path = write_jsonl(tmp_path / "log.jsonl", rows)
    truth = pd.DataFrame({"account_id": ["a1"], "label": ["attack"], "campaign": ["c"]})
    r = replay(path, truth, checkpoints_h=(1.0, 2.0), scan_fn=_FakeScan()).iloc[0]
    assert r["flagged"] and r["requests_to_flag"] == 3 and r["hours_to_flag"] == pytest.approx(10 / 60)


def test_ci_floors_report_but_do_not_check_time_to_detection():
    res = SuiteResult([_row(max_share_to_flag=math.inf)], [], pd.DataFrame(), [])
    assert check_floors(res, CI_FLOORS) == []
    assert check_floors(res, Floors()) != []
