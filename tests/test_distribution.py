"""Request embeddings, the window MMD test and topic coverage (signals/distribution.py, features/embed.py).

Expected values are worked out by hand in the comments, or by brute-force enumeration written
here independently of the code under test.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from distillwatch.features.embed import EMBED_DIM, EMBED_SCHEMA, emb_matrix, embed_batch, embed_texts
from distillwatch.signals import SIGNALS
from distillwatch.signals.distribution import (DistributionParams, TopicCoverageSignal, WindowMmdSignal,
                                               distribution_features, expected_coverage, fit_reference,
                                               mmd2_unbiased, window_mmd)

from helpers import account_frame

E = math.e


# ---- embedding -----------------------------------------------------------------------------

def test_embedding_is_deterministic_normalised_and_zero_for_empty_text():
    a = embed_texts(["You are a tutor."], ["Explain recursion with an example"])
    b = embed_texts(["You are a tutor."], ["Explain recursion with an example"])
    assert a.shape == (1, EMBED_DIM) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert np.linalg.norm(a[0]) == pytest.approx(1.0, abs=1e-5)
    empty = embed_texts([None], [""])
    assert np.linalg.norm(empty[0]) == 0.0  # "\n" alone has no word tokens


def test_embedding_puts_shared_wording_closer_than_unrelated_text():
    x = embed_texts(None, ["write a python function that sorts a list of numbers",
                           "write a python function that sorts a list of strings",
                           "what should I cook for dinner tonight with some leftover rice"])
    near = np.linalg.norm(x[0] - x[1])
    far = np.linalg.norm(x[0] - x[2])
    assert near < far


def test_embed_batch_schema_order_and_missing_column():
    batch = pa.table({"request_id": ["r1", "r2"], "system_text": ["sys", None], "user_text": ["hello", "bye"]})
    out = embed_batch(batch)
    assert out.schema.equals(EMBED_SCHEMA)
    assert out.column("request_id").to_pylist() == ["r1", "r2"]
    m = emb_matrix(out.column("emb"))
    assert np.allclose(m[1], embed_texts([None], ["bye"])[0])
    with pytest.raises(ValueError, match="user_text"):
        embed_batch(pa.table({"request_id": ["r1"], "system_text": ["x"]}))


def test_build_request_embeddings_runs_through_the_engine():
    from distillwatch.engine import DuckDBEngine
    from distillwatch.features.embed import build_request_embeddings

    eng = DuckDBEngine(threads=1)
    try:
        eng.register("requests", pa.table({"request_id": [f"r{i}" for i in range(5)],
                                           "system_text": [""] * 5, "user_text": [f"question {i}" for i in range(5)]}))
        build_request_embeddings(eng, batch_rows=2)
        t = eng.table("SELECT * FROM req_embeddings ORDER BY request_id")
    finally:
        eng.close()
    assert t.num_rows == 5
    assert np.allclose(emb_matrix(t.column("emb"))[3], embed_texts([""], ["question 3"])[0])


# ---- MMD ------------------------------------------------------------------------------------

MMD_CASES = [
    # x, y, gamma, expected (hand):
    # x={0,1}, y={0,2}, gamma=.5: XX = e^-.5, YY = e^-2, XY = (1 + e^-2 + 2 e^-.5)/4
    #   -> e^-.5 + e^-2 - (1 + e^-2 + 2 e^-.5)/2 = (e^-2 - 1)/2
    ([[0.0], [1.0]], [[0.0], [2.0]], 0.5, (E ** -2 - 1) / 2),
    # x={0,0}, y={1,1}, gamma=1: XX = 1, YY = 1, XY = e^-1  -> 2 - 2/e
    ([[0.0], [0.0]], [[1.0], [1.0]], 1.0, 2 - 2 / E),
    # 2-D: x={(0,0),(3,4)} (distance 5), y={(0,0),(0,0)}, gamma=.02: XX = e^-.5, YY = 1,
    #   XY = (1 + 1 + e^-.5 + e^-.5)/4 -> e^-.5 + 1 - (1 + e^-.5) = 0
    ([[0.0, 0.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]], 0.02, 0.0),
]


@pytest.mark.parametrize("x,y,gamma,expected", MMD_CASES)
def test_unbiased_mmd2_matches_hand_computation(x, y, gamma, expected):
    assert mmd2_unbiased(np.array(x), np.array(y), gamma) == pytest.approx(expected, abs=1e-12)


def _mixture(rng, n, centers, noise=0.3):
    lab = rng.integers(0, len(centers), n)
    return centers[lab] + noise * rng.normal(size=(n, centers.shape[1])), lab


@pytest.fixture(scope="module")
def population():
    """8 Gaussian topics in 16-D; 300 accounts of 32 requests drawn from the whole mixture, and
    20 accounts of 32 requests all from topic 0 (a narrow, shifted distribution)."""
    rng = np.random.default_rng(7)
    centers = 2.0 * np.eye(16)[:8]
    mixed, _ = _mixture(rng, 300 * 32, centers)
    narrow = centers[0] + 0.3 * rng.normal(size=(20 * 32, 16))
    x = np.vstack([mixed, narrow]).astype(np.float32)
    keys = np.array([f"m{i:03d}" for i in range(300) for _ in range(32)]
                    + [f"n{i:02d}" for i in range(20) for _ in range(32)])
    ts = np.tile(np.arange(32, dtype=float), 320)
    return keys, ts, x


def test_window_mmd_rejects_shifted_windows_and_keeps_the_null_rate(population):
    keys, ts, x = population
    ref = fit_reference(x, DistributionParams(), topics=False)
    w = window_mmd(keys, ts, x, ref)
    assert len(w) == 320 and (w["m"] == 32).all()
    narrow = w[w["key"].str.startswith("n")]
    mixed = w[w["key"].str.startswith("m")]
    assert narrow["reject"].all()
    # Under the null each window rejects with probability <= 0.003: among 300 windows the count is
    # Binomial(300, 0.003), mean 0.9; P(count >= 5) = 0.0022, so 4 is the tolerance.
    assert mixed["reject"].sum() <= 4


def test_window_statistic_equals_the_direct_estimator(population):
    keys, ts, x = population
    ref = fit_reference(x, DistributionParams(n_null=400), topics=False)
    w = window_mmd(keys[:64], ts[:64], x[:64], ref)  # two accounts, one window each
    direct = mmd2_unbiased(x[32:64].astype(np.float64), ref.ref_, ref.gamma_)
    assert w.loc[w["key"] == "m001", "mmd2"].iat[0] == pytest.approx(direct, rel=1e-9, abs=1e-12)


def test_windows_cover_every_request_with_an_overlapping_last_window():
    # 75 requests, window 32: windows [0,32), [32,64), and the last 32 = [43,75) -> ends 32, 64, 75.
    # 20 requests (min_window 16, sizes 16/20/24/28/32): one window of 20.  10 requests: untested.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(105, 8)).astype(np.float32)
    keys = np.array(["a"] * 75 + ["b"] * 20 + ["c"] * 10)
    ts = np.concatenate([np.arange(75), np.arange(20), np.arange(10)]).astype(float)[::-1].copy()
    ref = fit_reference(x, DistributionParams(n_null=400), topics=False)
    w = window_mmd(keys, ts, x, ref)
    assert w[w.key == "a"]["end"].tolist() == [32, 64, 75]
    assert w[w.key == "a"]["start"].tolist() == [0, 32, 43]
    assert w[w.key == "b"][["start", "end", "m"]].values.tolist() == [[0, 20, 20]]
    assert "c" not in set(w["key"])


# ---- topic coverage -------------------------------------------------------------------------

def _enumerate_coverage(p, n):
    """Mean and variance of distinct cells by listing every sequence of n draws (independent check)."""
    mean = sq = 0.0
    for seq in itertools.product(range(len(p)), repeat=n):
        pr = math.prod(p[c] for c in seq)
        d = len(set(seq))
        mean += pr * d
        sq += pr * d * d
    return mean, sq - mean * mean


COVERAGE_CASES = [
    # p, n, E, V by hand
    ([0.5, 0.5], 2, 1.5, 0.25),               # AA AB BA BB -> 1 2 2 1
    ([0.5, 0.25, 0.25], 2, 1.625, 0.234375),  # P(same cell) = .25+.0625+.0625 = .375
    ([0.2, 0.3, 0.5], 1, 1.0, 0.0),
]


@pytest.mark.parametrize("p,n,e,v", COVERAGE_CASES)
def test_expected_coverage_matches_hand_values(p, n, e, v):
    got_e, got_v = expected_coverage(np.array(p), n)
    assert got_e == pytest.approx(e, abs=1e-12)
    assert got_v == pytest.approx(v, abs=1e-12)


@pytest.mark.parametrize("p,n", [([0.1, 0.2, 0.3, 0.4], 4), ([0.7, 0.2, 0.1], 5), ([0.25] * 4, 3)])
def test_expected_coverage_matches_enumeration(p, n):
    e, v = _enumerate_coverage(p, n)
    got_e, got_v = expected_coverage(np.array(p), np.array([n, n]))
    assert got_e == pytest.approx([e, e], abs=1e-12)
    assert got_v == pytest.approx([v, v], abs=1e-12)


def test_topic_coverage_separates_a_sweep_from_a_focused_user():
    """16 well-separated topics. A sweep visits them in turn (24 requests: all 16 cells); a focused
    user stays on one (1 cell). For 24 draws from ~uniform p over 16 cells:
    E = 16 (1 - (15/16)^24) = 12.60; V = 16 q (1-q) + 240 [(7/8)^24 - (15/16)^48] = 2.678 - 1.027
    = 1.651 (sd 1.285), so the sweep is about (16 - 12.6) / 1.285 = 2.65 sd above chance."""
    rng = np.random.default_rng(3)
    centers = 10.0 * np.eye(16)
    pop = centers[np.repeat(np.arange(16), 300)] + 0.1 * rng.normal(size=(4800, 16))
    sweep = centers[np.arange(24) % 16] + 0.1 * rng.normal(size=(24, 16))
    focus = centers[[5] * 24] + 0.1 * rng.normal(size=(24, 16))
    x = np.vstack([pop, sweep, focus]).astype(np.float32)
    frame = pd.DataFrame({"account_id": [f"p{i % 200}" for i in range(4800)] + ["sweep"] * 24 + ["focus"] * 24,
                          "ts_s": np.arange(4848, dtype=float)})
    params = DistributionParams(k_topics=16, coverage_max_requests=24, coverage_min_requests=16, n_null=400)
    d = distribution_features(frame, x, params=params).set_index("account_id")
    assert d.loc["sweep", "coverage_cells"] == 16 and d.loc["focus", "coverage_cells"] == 1
    assert d.loc["sweep", "coverage_expected"] == pytest.approx(12.60, abs=0.1)
    assert d.loc["sweep", "coverage_z"] == pytest.approx(2.65, abs=0.15)
    assert d.loc["focus", "coverage_z"] < -5
    feats = account_frame([{"account_id": a, "n_requests": 24} for a in ("sweep", "focus")])
    feats = feats.merge(d.reset_index(), on="account_id")
    value, score = TopicCoverageSignal().compute(feats)
    assert score.iat[0] == pytest.approx((2.65 - 2.0) / 2.0, abs=0.08) and score.iat[1] == 0.0


def test_distribution_features_abstain_on_a_tiny_population():
    frame = pd.DataFrame({"account_id": ["a"] * 10, "ts_s": np.arange(10.0)})
    d = distribution_features(frame, np.ones((10, 4), np.float32))
    assert d["mmd_windows"].tolist() == [0] and d["coverage_z"].isna().all()


def test_distribution_features_name_a_missing_column():
    with pytest.raises(ValueError, match="ts_s"):
        distribution_features(pd.DataFrame({"account_id": ["a"]}), np.zeros((1, 4)))


# ---- the two signals ------------------------------------------------------------------------

MMD_SIGNAL_CASES = [
    # windows, rejected, n_requests, expected score: ramp from 10 % to 50 % of windows
    (10, 3, 320, (0.3 - 0.1) / 0.4),
    (10, 1, 320, 0.0),
    (1, 1, 20, 1.0),
    (0, 0, 12, 0.0),      # untested
    (4, 4, 12, 0.0),      # below 16 requests (inconsistent row, still no evidence)
]


@pytest.mark.parametrize("windows,rejected,n,expected", MMD_SIGNAL_CASES)
def test_window_mmd_signal_scores(windows, rejected, n, expected):
    df = account_frame([dict(n_requests=n, mmd_windows=windows, mmd_rejected=rejected, mmd_window_size=32,
                             mmd_ref_size=512, mmd_max=0.05, mmd_max_threshold=0.01)])
    value, score = WindowMmdSignal().compute(df)
    assert score.iat[0] == pytest.approx(expected)
    if expected > 0:
        text = WindowMmdSignal().explain(df.iloc[0], float(value.iat[0]))
        assert f"{rejected} of {windows} windows" in text and "0.0100" in text


@pytest.mark.parametrize("z,n,expected", [(3.0, 100, 0.5), (5.0, 100, 1.0), (1.0, 100, 0.0),
                                          (float("nan"), 100, 0.0), (5.0, 19, 0.0)])
def test_topic_coverage_signal_scores(z, n, expected):
    df = account_frame([dict(n_requests=n, coverage_z=z)])
    assert TopicCoverageSignal().compute(df)[1].iat[0] == pytest.approx(expected)


def test_signals_are_registered_and_abstain_without_their_columns():
    assert SIGNALS["account.window_mmd"] is WindowMmdSignal
    assert SIGNALS["account.topic_coverage"] is TopicCoverageSignal
    df = account_frame([{}, dict(n_requests=500)])
    for cls in (WindowMmdSignal, TopicCoverageSignal):
        value, score = cls().compute(df)
        assert score.tolist() == [0.0, 0.0] and value.isna().all()


def test_distribution_features_from_engine_reads_req_features_and_req_embeddings():
    from distillwatch.engine import DuckDBEngine
    from distillwatch.signals.distribution import DISTRIBUTION_COLUMNS, distribution_features_from_engine

    # 10 accounts x 40 varied requests and "c", 40 copies of one question (a single point, 9 % of
    # the population: far from the mixture, so both its windows reject)
    rng = np.random.default_rng(0)
    texts = [f"question {rng.integers(0, 1000)} about topic {rng.integers(0, 50)} and {rng.integers(0, 50)}"
             for _ in range(400)] + ["the same question"] * 40
    accounts = [f"v{i}" for i in range(10) for _ in range(40)] + ["c"] * 40
    rid = [f"r{i:03d}" for i in range(440)]
    eng = DuckDBEngine(threads=1)
    try:
        eng.register("req_features", pa.table({"request_id": rid, "account_id": accounts,
                                               "ts_s": [float(i % 40) for i in range(440)]}))
        eng.register("req_embeddings", pa.Table.from_batches([embed_batch(pa.table(
            {"request_id": rid, "system_text": [""] * 440, "user_text": texts}))]))
        params = DistributionParams(n_null=400, k_topics=8)
        d = distribution_features_from_engine(eng, params=params).set_index("account_id")
    finally:
        eng.close()
    assert list(d.columns) == list(DISTRIBUTION_COLUMNS)
    # 40 requests, window 32: windows [0,32) and the last 32 [8,40) -> 2 windows each
    assert d["mmd_windows"].tolist() == [2] * 11
    assert d.loc["c", "coverage_cells"] == 1 and d.loc["c", "mmd_rejected"] == 2


def test_scan_with_distribution_tests_fills_the_signal_columns(tmp_path):
    """End to end: ``--distribution-tests`` computes the window MMD and coverage features in a scan."""
    from typer.testing import CliRunner

    from distillwatch.cli import app
    from distillwatch.simulate import simulate

    simulate(tmp_path / "sim", seed=11, scale=0.02, days=4)
    r = CliRunner().invoke(app, ["scan", str(tmp_path / "sim" / "requests.jsonl"), "--out", str(tmp_path / "out"),
                                 "--distribution-tests"])
    assert r.exit_code == 0, r.output
    manifest = (tmp_path / "out" / "manifest.json").read_text()
    assert '"distribution_tests": true' in manifest
