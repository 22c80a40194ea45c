"""Baseline detectors (evaluate/baselines.py): expected values are worked out by hand in comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from distillwatch.evaluate.baselines import (BASELINES, RESULT_COLUMNS, BaselineParams, baseline_metrics,
                                             prada_stream, run_baselines)


def _requests(spec: dict[str, list[str]]) -> pd.DataFrame:
    """Rows from {account: [ISO timestamps]} (request ids in listing order)."""
    rows = [{"request_id": f"{a}-{i:03d}", "account_id": a, "ts": pd.Timestamp(t)}
            for a, ts in spec.items() for i, t in enumerate(ts)]
    return pd.DataFrame(rows)


# ---- rate limit -----------------------------------------------------------------------------

def test_rate_limit_flags_exactly_the_days_over_the_limit():
    day = lambda d, n, h=10: [f"2026-04-{d:02d}T{h:02d}:{m:02d}:00Z" for m in range(n)]  # noqa: E731
    spec = {
        # A: 5 on Apr 1 -> over a limit of 4 at its 5th request (10:04)
        "A": day(1, 5),
        # B: 4 a day for 3 days, two of them straddling midnight UTC: never over 4 in a UTC day
        "B": day(1, 2, 23) + day(2, 2, 0) + day(2, 2, 12) + day(3, 4),
        # C: 2 on Apr 1 then 6 on Apr 2 -> over at the 5th request of Apr 2 = request 2 + 5 = 7
        "C": day(1, 2) + day(2, 6),
    }
    req = _requests(spec).sample(frac=1.0, random_state=1)  # input order must not matter
    r = run_baselines(req, baselines=("rate_limit",), params=BaselineParams(daily_limit=4)).set_index("account_id")
    assert r["flagged"].to_dict() == {"A": True, "B": False, "C": True}
    assert r.loc["A", "requests_to_first_flag"] == 5
    assert r.loc["C", "requests_to_first_flag"] == 7
    assert pd.isna(r.loc["B", "requests_to_first_flag"])
    assert r.loc["A", "first_flag_ts"] == pd.Timestamp("2026-04-01T10:04:00Z")
    assert r.loc["C", "first_flag_ts"] == pd.Timestamp("2026-04-02T10:04:00Z")
    assert r.loc["B", "score"] == pytest.approx(4 / 4) and r.loc["A", "score"] == 1.0
    assert "busiest UTC day 4 requests" in r.loc["B", "evidence"]


def test_the_disclosed_rate_never_trips_the_default_limit():
    # 24 requests a day for 30 days (near the disclosed 26 a day): peak 24 < 1,000, score 24/1000
    ts = [f"2026-04-{d:02d}T{h:02d}:00:00Z" for d in range(1, 31) for h in range(24)]
    req = _requests({"x": ts})
    r = run_baselines(req, baselines=("rate_limit",))
    assert not r["flagged"].any() and r["score"].iat[0] == pytest.approx(24 / 1000)


# ---- PRADA ----------------------------------------------------------------------------------

def _natural(seed: int) -> np.ndarray:
    """Queries drawn independently from one natural distribution (a 32-D Gaussian): minimum
    distances to earlier queries are nearest-neighbour distances, which concentrate and are close
    to normal in high dimension (PRADA's premise for benign clients)."""
    return np.random.default_rng(seed).normal(size=(200, 32))


def _sweep(seed: int) -> np.ndarray:
    """A synthetic sweep in the style of the extraction attacks PRADA targets: 10 seed queries,
    each followed by 19 small steps (length 0.05) from the previous query. The distance set is
    bimodal (about 190 values of 0.05, 9 large jumps), as far from normal as it gets."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in rng.normal(size=(10, 32)):
        q = s.copy()
        for _ in range(20):
            rows.append(q.copy())
            step = rng.normal(size=32)
            q = q + 0.05 * step / np.linalg.norm(step)
    return np.array(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prada_flags_a_sweep_and_not_a_natural_stream(seed):
    w_nat, first_nat, tests_nat = prada_stream(_natural(seed), delta=0.7)
    w_sw, first_sw, tests_sw = prada_stream(_sweep(seed), delta=0.7)
    # 200 queries: distances from query 2 on (199 values); tests at 100, 110, ..., 190 -> 10 tests
    assert tests_nat == tests_sw == 10
    assert first_nat is None and w_nat > 0.9
    # the first test runs when 100 distances exist, i.e. at query 101
    assert first_sw == 101 and w_sw < 0.5


def test_prada_does_not_test_short_accounts_and_reports_the_query_count():
    w, first, tests = prada_stream(_sweep(0)[:100])
    assert tests == 0 and first is None and np.isnan(w)


def test_prada_baseline_rows_follow_the_account_time_order():
    x = np.vstack([_sweep(0), _natural(0)])
    ts = [pd.Timestamp("2026-04-01T00:00:00Z") + pd.Timedelta(minutes=i) for i in range(200)]
    req = pd.DataFrame({"request_id": [f"r{i:03d}" for i in range(400)], "account_id": ["s"] * 200 + ["n"] * 200,
                        "ts": ts + ts})
    order = np.random.default_rng(0).permutation(400)  # shuffled input, embeddings aligned with rows
    r = run_baselines(req.iloc[order], embeddings=x[order], baselines=("prada",)).set_index("account_id")
    assert r.loc["s", "flagged"] and not r.loc["n", "flagged"]
    assert r.loc["s", "requests_to_first_flag"] == 101
    assert r.loc["s", "first_flag_ts"] == ts[100]


# ---- IsolationForest ------------------------------------------------------------------------

def _behaviour_log() -> pd.DataFrame:
    """40 ordinary accounts (8 requests over 4 days, one IP, short prompts) and one harvester
    (80 requests in one day from 80 IPs, long prompts, max_tokens 8,000, all CoT)."""
    rng = np.random.default_rng(4)
    rows = []
    for a in range(40):
        for i in range(8):
            rows.append({"account_id": f"u{a:02d}", "ts": pd.Timestamp("2026-04-01T08:00:00Z")
                         + pd.Timedelta(hours=int(24 * (i // 2) + rng.integers(0, 10))),
                         "client_ip": f"10.0.{a}.1", "user_chars": int(rng.integers(40, 200)),
                         "max_tokens": 512, "is_cot": False, "capability": "general_chat", "output_tokens": 200})
    for i in range(80):
        rows.append({"account_id": "zz", "ts": pd.Timestamp("2026-04-02T00:00:00Z") + pd.Timedelta(minutes=15 * i),
                     "client_ip": f"172.16.0.{i}", "user_chars": 3000, "max_tokens": 8000, "is_cot": True,
                     "capability": "coding", "output_tokens": 4000})
    return pd.DataFrame(rows)


def test_isolation_forest_is_deterministic_and_isolates_the_harvester():
    log = _behaviour_log()
    a = run_baselines(log, baselines=("isolation_forest",))
    b = run_baselines(log.sample(frac=1.0, random_state=3), baselines=("isolation_forest",))
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    r = a.set_index("account_id")
    assert r["score"].idxmax() == "zz" and r.loc["zz", "flagged"]
    # checkpoints 10, 20, 40 (< 80): flagged no later than its full history of 80 requests
    assert r.loc["zz", "requests_to_first_flag"] in (10, 20, 40, 80)
    assert a.attrs["isolation_forest_features"] == ["n_requests", "req_per_active_day", "distinct_hours", "n_ips",
                                                    "mean_user_chars", "mean_max_tokens", "cot_share",
                                                    "coding_share", "long_output_share"]


# ---- MMD window -----------------------------------------------------------------------------

def test_mmd_window_first_flag_is_the_end_of_the_first_rejecting_window():
    """Population: 8 Gaussian topics (16-D), 200 accounts x 32 requests. Account "late": 32
    ordinary requests then 32 from one topic only -> its first window passes, the second rejects
    -> first flag at request 64. Account "early": 32 single-topic requests -> flag at 32."""
    rng = np.random.default_rng(11)
    centers = 2.0 * np.eye(16)[:8]

    def mix(n):
        return centers[rng.integers(0, 8, n)] + 0.3 * rng.normal(size=(n, 16))

    narrow = lambda n: centers[3] + 0.3 * rng.normal(size=(n, 16))  # noqa: E731
    x = np.vstack([mix(200 * 32), mix(32), narrow(32), narrow(32)]).astype(np.float32)
    acc = [f"m{i:03d}" for i in range(200) for _ in range(32)] + ["late"] * 64 + ["early"] * 32
    t0 = pd.Timestamp("2026-04-01T00:00:00Z")
    ts = [t0 + pd.Timedelta(seconds=i) for i in range(200 * 32)] + [t0 + pd.Timedelta(seconds=i) for i in range(64)] \
        + [t0 + pd.Timedelta(seconds=i) for i in range(32)]
    req = pd.DataFrame({"account_id": acc, "ts": ts})
    r = run_baselines(req, embeddings=x, baselines=("mmd_window",)).set_index("account_id")
    assert r.loc["late", "requests_to_first_flag"] == 64 and r.loc["late", "score"] == 0.5
    assert r.loc["early", "requests_to_first_flag"] == 32 and r.loc["early", "score"] == 1.0
    assert r.loc["late", "first_flag_ts"] == t0 + pd.Timedelta(seconds=63)
    # the 200 ordinary accounts: Binomial(200, 0.003) rejections, mean 0.6; P(>= 4) = 0.003
    assert r.loc[[f"m{i:03d}" for i in range(200)], "flagged"].sum() <= 3


# ---- run_baselines contract and metrics -----------------------------------------------------

def test_run_baselines_output_contract_and_errors():
    log = _behaviour_log()
    log["user_text"] = [f"question about topic {i % 7}" for i in range(len(log))]
    log["system_text"] = ""
    r = run_baselines(log)
    assert list(r.columns) == RESULT_COLUMNS
    assert list(dict.fromkeys(r["baseline"])) == list(BASELINES)
    assert len(r) == 4 * 41
    assert r["score"].between(0, 1).all()
    assert str(r["requests_to_first_flag"].dtype) == "Int64"
    with pytest.raises(ValueError, match="timezone"):
        run_baselines(log.assign(ts=log["ts"].dt.tz_convert(None)), baselines=("rate_limit",))
    with pytest.raises(ValueError, match="unknown baselines"):
        run_baselines(log, baselines=("nope",))
    with pytest.raises(ValueError, match="embeddings"):
        run_baselines(log.drop(columns=["user_text"]), baselines=("prada",))


def test_baseline_metrics_by_hand():
    res = pd.DataFrame({"account_id": ["a1", "a2", "b1", "b2"], "baseline": "rate_limit",
                        "flagged": [True, False, True, False], "requests_to_first_flag": [30, None, 5, None]})
    truth = pd.DataFrame({"account_id": ["a1", "a2", "b1", "b2"], "label": ["attack", "attack", "benign", "benign"],
                          "campaign": ["attack:x", "attack:x", "benign:y", "benign:y"]})
    m = baseline_metrics(res, truth).set_index("campaign")
    # tp 1 (a1), fp 1 (b1), fn 1 (a2): precision 1/2, recall 1/2; median over flagged attack: 30
    assert m.loc["all", ["tp", "fp", "fn"]].tolist() == [1, 1, 1]
    assert m.loc["all", "precision"] == 0.5 and m.loc["all", "recall"] == 0.5
    assert m.loc["all", "median_requests_to_first_flag"] == 30
    assert m.loc["attack:x", "recall"] == 0.5 and m.loc["benign:y", "flagged"] == 1
