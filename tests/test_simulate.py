"""Tests of the traffic simulator (small scale, shared corpora and IP data when present)."""

from __future__ import annotations

import csv
import hashlib
import ipaddress
import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from distillwatch.schema import ACCOUNT_FIELDS, MESSAGE_ROLES, RELEASE_FIELDS, VERIFICATION_LEVELS
from distillwatch.simulate import SCENARIO_DEFAULTS, simulate
from distillwatch.simulate import wrappers as W

SCALE = 0.05


@pytest.fixture(scope="module")
def intel():
    from distillwatch.intel import load_intel

    db = load_intel(None)
    try:
        db.sample_ips("residential", 1, np.random.default_rng(0))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"IP intelligence cannot sample residential addresses here: {exc}")
    return db


@pytest.fixture(scope="module")
def corpora():
    from distillwatch.corpora import CorpusError, load_corpora

    try:
        return load_corpora(max_per_kind=1500, seed=0)
    except CorpusError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def run_a(tmp_path_factory, intel, corpora):
    out = tmp_path_factory.mktemp("sim_a")
    summary = simulate(out, seed=7, scale=SCALE, intel=intel, corpora=corpora)
    return out, summary


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _ts(v) -> float:
    if isinstance(v, int):
        return v / 1000.0
    assert isinstance(v, str) and v.endswith("Z"), v
    return datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()


@pytest.fixture(scope="module")
def loaded(run_a):
    out, summary = run_a
    requests = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines()]
    accounts = [json.loads(line) for line in (out / "accounts.jsonl").read_text().splitlines()]
    releases = [json.loads(line) for line in (out / "releases.jsonl").read_text().splitlines()]
    with open(out / "truth.csv", newline="") as fh:
        truth = list(csv.DictReader(fh))
    return {"requests": requests, "accounts": accounts, "releases": releases, "truth": truth, "summary": summary}


def test_deterministic_same_seed_identical_bytes(tmp_path, run_a, intel, corpora):
    out_a, _ = run_a
    out_b = tmp_path / "b"
    simulate(out_b, seed=7, scale=SCALE, intel=intel, corpora=corpora)
    assert _digest(out_a) == _digest(out_b)


def test_different_seed_differs(tmp_path, run_a, intel, corpora):
    out_a, _ = run_a
    out_c = tmp_path / "c"
    simulate(out_c, seed=8, scale=SCALE, intel=intel, corpora=corpora)
    da, dc = _digest(out_a), _digest(out_c)
    assert da["requests.jsonl"] != dc["requests.jsonl"]
    assert da["accounts.jsonl"] != dc["accounts.jsonl"]


def test_requests_follow_the_contract(loaded):
    reqs = loaded["requests"]
    assert len(reqs) > 1000
    ids = set()
    n_int_ts = 0
    for r in reqs:
        for f in ("request_id", "timestamp", "account_id", "api_key_id", "client_ip", "user_agent", "model",
                  "max_tokens", "temperature", "stream", "input_tokens", "output_tokens", "status"):
            assert f in r, (f, r.get("request_id"))
        assert "org_id" in r
        assert isinstance(r["request_id"], str) and r["request_id"] not in ids
        ids.add(r["request_id"])
        n_int_ts += isinstance(r["timestamp"], int)
        _ts(r["timestamp"])
        ipaddress.ip_address(r["client_ip"])
        assert ("messages" in r) != ("prompt" in r)
        if "messages" in r:
            assert r["messages"], r["request_id"]
            for m in r["messages"]:
                assert m["role"] in MESSAGE_ROLES and isinstance(m["content"], str)
        else:
            assert isinstance(r["prompt"], str) and r["prompt"]
        for t in r.get("tools") or []:
            assert set(t) == {"name", "description", "parameters"}
        assert isinstance(r["max_tokens"], int) and isinstance(r["temperature"], float)
        assert isinstance(r["stream"], bool)
        assert isinstance(r["input_tokens"], int) and r["input_tokens"] > 0
        assert isinstance(r["output_tokens"], int) and 0 <= r["output_tokens"] <= r["max_tokens"]
        assert r["status"] in (200, 429, 500)
        if r["status"] != 200:
            assert r["output_tokens"] == 0
        assert len(r.get("response", "")) < 200
    share_int = n_int_ts / len(reqs)
    assert 0.1 < share_int < 0.3
    assert any("prompt" in r for r in reqs)
    statuses = [r["status"] for r in reqs]
    assert statuses.count(200) / len(statuses) > 0.95
    assert 429 in statuses


def test_timestamps_in_window_and_roughly_ordered(loaded):
    s = loaded["summary"]
    t0 = _ts(s.start)
    t = np.array([_ts(r["timestamp"]) for r in loaded["requests"]])
    assert t.min() >= t0 and t.max() < t0 + s.days * 86400
    inversions = np.mean(np.diff(t) < 0)
    assert 0 < inversions < 0.5  # not sorted, but close


def test_accounts_releases_truth(loaded):
    accounts, truth, reqs = loaded["accounts"], loaded["truth"], loaded["requests"]
    for a in accounts:
        assert set(a) == set(ACCOUNT_FIELDS)
        assert a["verification"] in VERIFICATION_LEVELS
        assert len(a["billing_country"]) == 2 and a["billing_country"].isupper()
        ipaddress.ip_address(a["signup_ip"])
        _ts(a["created_at"])
        assert a["account_id"].startswith("acct_")
    truth_ids = {t["account_id"] for t in truth}
    assert {a["account_id"] for a in accounts} == truth_ids
    assert {r["account_id"] for r in reqs} <= truth_ids
    assert all(t["label"] in ("attack", "benign") for t in truth)
    for t in truth:
        assert t["campaign"].startswith(t["label"] + ":")
    rel = loaded["releases"]
    assert all(set(r) == set(RELEASE_FIELDS) for r in rel)
    assert len({r["model"] for r in rel}) == len(rel) >= 2


def test_every_archetype_present(loaded):
    by_campaign = defaultdict(int)
    camp = {t["account_id"]: t["campaign"] for t in loaded["truth"]}
    for r in loaded["requests"]:
        by_campaign[camp[r["account_id"]]] += 1
    for name in SCENARIO_DEFAULTS:
        assert by_campaign[name] > 0, name


def test_no_tell_tale_markers(loaded):
    attack = {t["account_id"] for t in loaded["truth"] if t["label"] == "attack"}
    for r in loaded["requests"]:
        if r["account_id"] in attack:
            assert "attack" not in r["user_agent"].lower()
            assert "attack" not in r["request_id"] and "attack" not in r["api_key_id"]
    for a in loaded["accounts"]:
        assert "attack" not in json.dumps(a).lower()
        assert "hydra" not in json.dumps(a).lower()


def _by_account(loaded, campaign):
    camp = {t["account_id"]: t["campaign"] for t in loaded["truth"]}
    out = defaultdict(list)
    for r in loaded["requests"]:
        if camp[r["account_id"]] == campaign:
            out[r["account_id"]].append(r)
    return out


def test_hydra_accounts_are_light(loaded):
    accts = _by_account(loaded, "attack:hydra")
    assert len(accts) >= 8
    rates = []
    for rs in accts.values():
        days = {datetime.fromtimestamp(_ts(r["timestamp"]), tz=timezone.utc).date() for r in rs}
        rates.append(len(rs) / len(days))
    assert np.mean(rates) < 30
    # one client fingerprint, rotating IPs
    assert len({r["user_agent"] for rs in accts.values() for r in rs}) == 1
    assert len({(r["max_tokens"], r["temperature"]) for rs in accts.values() for r in rs}) == 1
    n_req = sum(len(rs) for rs in accts.values())
    n_ips = len({r["client_ip"] for rs in accts.values() for r in rs})
    assert n_ips / n_req > 0.6


def test_hydra_pivots_to_new_model(loaded):
    rel = {r["model"]: _ts(r["released_at"]) for r in loaded["releases"]}
    s = loaded["summary"]
    t0 = _ts(s.start)
    new_model, release = max(rel.items(), key=lambda kv: kv[1])
    assert t0 < release < t0 + s.days * 86400
    rs = [r for v in _by_account(loaded, "attack:hydra").values() for r in v]
    after = [r for r in rs if _ts(r["timestamp"]) >= release]
    assert after
    share = sum(r["model"] == new_model for r in after) / len(after)
    assert share > 0.5
    first_new = min(_ts(r["timestamp"]) for r in rs if r["model"] == new_model)
    assert release <= first_new <= release + 24 * 3600
    assert all(r["model"] != new_model for r in rs if _ts(r["timestamp"]) < release)


def test_shared_payment_and_lockstep(loaded):
    accounts = {a["account_id"]: a for a in loaded["accounts"]}
    hydra = _by_account(loaded, "attack:hydra")
    cards = [accounts[a]["payment_fingerprint"] for a in hydra]
    assert len(set(cards)) < len(cards) / 2
    ring = _by_account(loaded, "attack:careful_ring")
    ring_cards = [accounts[a]["payment_fingerprint"] for a in ring]
    assert len(set(ring_cards)) == len(ring_cards)
    assert len({accounts[a]["email_domain"] for a in ring}) >= len(ring) - 1
    for rs in ring.values():  # sticky residential IP
        assert len({r["client_ip"] for r in rs}) == 1
    cot = _by_account(loaded, "attack:cot_harvest")
    assert len({r["client_ip"] for rs in cot.values() for r in rs}) <= 4


def test_hard_negatives_look_hard(loaded):
    accounts = {a["account_id"]: a for a in loaded["accounts"]}
    ent = _by_account(loaded, "benign:enterprise")
    assert {accounts[a]["verification"] for a in ent} == {"verified_org"}
    assert len({accounts[a]["org_id"] for a in ent}) == 1
    ent_days = {datetime.fromtimestamp(_ts(r["timestamp"]), tz=timezone.utc).date() for rs in ent.values()
                for r in rs}
    assert sum(len(rs) for rs in ent.values()) / len(ent_days) > 30  # high volume
    campus = _by_account(loaded, "benign:campus")
    assert len({accounts[a]["email_domain"] for a in campus}) == 1
    prefixes = {".".join(r["client_ip"].split(".")[:3]) for rs in campus.values() for r in rs}
    shared = sum(1 for rs in campus.values() if any(".".join(r["client_ip"].split(".")[:3]) in prefixes
                                                   for r in rs))
    assert shared == len(campus)
    ev = _by_account(loaded, "benign:eval_harness")
    texts = [m["content"] for rs in ev.values() for r in rs for m in r.get("messages", [])]
    assert texts


def test_scale_changes_accounts(intel, corpora, tmp_path, run_a):
    _, small = run_a
    bigger = simulate(tmp_path / "big", seed=7, scale=SCALE * 3, intel=intel, corpora=corpora)
    assert bigger.n_accounts > small.n_accounts
    assert bigger.archetypes["benign:casual"]["accounts"] > small.archetypes["benign:casual"]["accounts"]


def test_wrappers_are_varied_and_fill_all_slots():
    rng = np.random.default_rng(0)
    for fam in W.FAMILIES.values():
        outs = {fam.render(rng, content="{x} 2+2?", question="Q?", response="A.", rubric="1. Clarity")
                for _ in range(60)}
        assert len(outs) >= 5, fam.name
        for o in outs:
            assert "{" not in o.replace("{x}", ""), (fam.name, o)
    assert "project's own" in W.__doc__.lower()
