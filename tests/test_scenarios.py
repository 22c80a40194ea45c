"""The scenario suite: every scenario is named, deterministic by seed, and has the shape it claims."""

from __future__ import annotations

import filecmp

import pandas as pd
import pytest

from distillwatch.simulate import SCENARIO_DEFAULTS
from distillwatch.simulate.scenarios import EVASION, HARD_NEGATIVE, SCENARIOS, get_scenario

ISSUE_EVASIONS = {"split_100", "split_1000", "split_20000", "mix_05", "mix_30", "mix_90", "paraphrase",
                  "rotating_proxy", "careful_ring", "human_schedule", "low_slow", "release_pivot"}
ISSUE_HARD_NEGATIVES = {"hn_enterprise", "hn_coding_agent", "hn_eval_harness", "hn_campus", "hn_legit_relay",
                        "hn_sdk_crowd", "hn_burst_once"}


def test_every_scenario_of_issue_3_is_registered_with_its_kind():
    assert {n for n, s in SCENARIOS.items() if s.kind == EVASION} == ISSUE_EVASIONS
    assert {n for n, s in SCENARIOS.items() if s.kind == HARD_NEGATIVE} == ISSUE_HARD_NEGATIVES
    for s in SCENARIOS.values():
        assert s.description and s.focus and set(s.focus) <= set(s.archetypes())


def test_background_is_the_six_benign_archetypes():
    benign = {k for k, v in SCENARIO_DEFAULTS.items() if v.label == "benign"}
    for s in SCENARIOS.values():
        assert benign <= set(s.archetypes())


def test_low_slow_shrinks_the_background_not_below_minimums():
    s = get_scenario("low_slow")
    a = s.archetypes()
    assert s.days == 45
    casual = a["benign:casual"]
    assert casual.n_accounts == round(SCENARIO_DEFAULTS["benign:casual"].n_accounts * 0.3)
    assert all(p.n_accounts >= p.min_accounts for p in a.values())


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(KeyError, match="split_20000"):
        get_scenario("split_2")


def _truth_and_requests(d):
    truth = pd.read_csv(d / "truth.csv")
    req = pd.read_json(d / "requests.jsonl", lines=True)
    return truth, req


def test_split_keeps_its_accounts_and_spreads_one_stream(tmp_path):
    s = get_scenario("split_1000")
    s.simulate(tmp_path, seed=5, scale=0.02)
    truth, req = _truth_and_requests(tmp_path)
    att = truth[truth["campaign"] == "attack:split_1000"]
    assert len(att) == 1000  # account count is the point of the scenario: not scaled down
    r = req[req["account_id"].isin(att["account_id"])]
    # the stream: 12,000 requests at scale 1 -> about 240 at 0.02 (Poisson; 429/500 retries add a few %)
    assert 150 <= len(r) <= 350
    per_day = r.assign(day=pd.to_datetime(r["timestamp"], utc=True, format="mixed").dt.floor("D")).groupby(
        ["account_id", "day"]).size()
    assert per_day.max() < 30


def test_same_seed_same_bytes_and_hard_negative_labels(tmp_path):
    s = get_scenario("hn_legit_relay")
    s.simulate(tmp_path / "a", seed=3, scale=0.02)
    s.simulate(tmp_path / "b", seed=3, scale=0.02)
    for f in ("requests.jsonl", "accounts.jsonl", "truth.csv"):
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False)
    truth = pd.read_csv(tmp_path / "a" / "truth.csv")
    relay = truth[truth["campaign"] == "benign:relay"]
    assert len(relay) >= 2 and (relay["label"] == "benign").all()


def test_sdk_crowd_shares_the_campaigns_user_agent(tmp_path):
    get_scenario("hn_sdk_crowd").simulate(tmp_path, seed=4, scale=0.02)
    truth, req = _truth_and_requests(tmp_path)
    crowd = truth.loc[truth["campaign"] == "benign:sdk_crowd", "account_id"]
    hydra = truth.loc[truth["campaign"] == "attack:hydra", "account_id"]
    ua_crowd = set(req.loc[req["account_id"].isin(crowd), "user_agent"])
    ua_hydra = set(req.loc[req["account_id"].isin(hydra), "user_agent"])
    assert ua_crowd == ua_hydra == {"OpenAI/Python 1.54.3"}


def test_rotating_proxy_changes_address_on_every_request(tmp_path):
    get_scenario("rotating_proxy").simulate(tmp_path, seed=6, scale=0.02)
    truth, req = _truth_and_requests(tmp_path)
    ids = truth.loc[truth["campaign"] == "attack:rotating_proxy", "account_id"]
    r = req[req["account_id"].isin(ids) & (req["status"] == 200)]
    # a new exit per request: distinct addresses nearly equal requests (residential pools may repeat rarely)
    assert r["client_ip"].nunique() >= 0.95 * len(r)


def test_paraphrase_sends_no_system_prompt(tmp_path):
    get_scenario("paraphrase").simulate(tmp_path, seed=6, scale=0.02)
    truth, req = _truth_and_requests(tmp_path)
    ids = truth.loc[truth["campaign"] == "attack:paraphrase", "account_id"]
    msgs = req.loc[req["account_id"].isin(ids), "messages"]
    single = [m for m in msgs if len(m) == 1]  # single-turn tasks (agentic ones carry their own history)
    assert single and all(m[0]["role"] == "user" for m in single)


def test_human_schedule_follows_the_billing_countrys_daytime(tmp_path):
    import json

    get_scenario("human_schedule").simulate(tmp_path, seed=8, scale=0.02)
    truth, req = _truth_and_requests(tmp_path)
    accts = {a["account_id"]: a for a in map(json.loads, (tmp_path / "accounts.jsonl").read_text().splitlines())}
    ids = set(truth.loc[truth["campaign"] == "attack:human_schedule", "account_id"])
    us = [a for a in ids if accts[a]["billing_country"] == "US"]
    assert us, "expected at least one US-billed account (30 % weight)"
    r = req[req["account_id"].isin(us)]
    hours = pd.to_datetime(r["timestamp"], utc=True, format="mixed").dt.hour
    # US offsets are UTC-4..-7 in late April: local 01:00-06:00 is about 06:00-12:00 UTC, where
    # HUMAN_HOURS puts its lowest weight. Under a flat schedule that band would hold 6/24 = 25 %.
    night = hours.between(6, 11).mean()
    assert night < 0.15
