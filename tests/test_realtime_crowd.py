"""The live path applies the batch crowd-prompt rule: chain-of-thought that sits only in a system
prompt sent by at least three accounts is not a lone account's own content evidence.

Between re-links the service scores ``account.cot_harvest`` from streaming counters; an account
that the last re-link put in no campaign is scored on ``cot_share - crowd_cot_share``
(``CotHarvestSignal.compute_own`` through ``scoring.risk.lone_account_hits``), with the prompt's
holders counted among the accounts seen so far. Expected values are worked out by hand below from
the signal classes' documented ramps and weights and ``scoring.risk``'s combination rule.
"""

from __future__ import annotations

import json
import sqlite3

import orjson
import pytest

from distillwatch.realtime.decide import AccountMeta, Scorer
from distillwatch.realtime.features import request_features
from distillwatch.realtime.models import RequestEvent, parse_timestamp_ms
from distillwatch.realtime.state import SCHEMA_VERSION, StateVersionError, Store
from helpers import req, write_jsonl

CROWD = "You are a helpful assistant. Think step by step before answering."   # an app's prompt, 3 holders
PAIR = "Reason it out carefully."                                                # CoT prompt, 2 holders
TERSE = "You are terse."                                                         # no CoT phrase
MODEL = "aurora-3"
T0 = parse_timestamp_ms("2026-03-01T10:00:00Z")
RELEASE = T0 - 3_600_000          # model released 1 h before the first request
CREATED = T0 - 1_800_000          # every account created 30 min before the first request

QUESTIONS = ["What is the capital of France?", "Name a large river in Africa.", "Who painted the Mona Lisa?",
             "How tall is Mount Everest?", "What language is spoken in Brazil?"]


def _ts(i: int) -> str:
    s = (T0 // 1000) + 60 * i
    return f"2026-03-01T{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"


def _stream():
    """(account, system, user text) in sending order: crowd_a, crowd_b, crowd_c, then own_d and the pair."""
    out = []
    out += [("crowd_a", CROWD, QUESTIONS[i % 5]) for i in range(11)]
    out += [("crowd_b", CROWD, QUESTIONS[i % 5]) for i in range(10)]
    out += [("crowd_c", CROWD, QUESTIONS[i % 5]) for i in range(8)]
    out += [("crowd_c", CROWD, f"Show your work: what is {i + 11} squared?") for i in range(4)]   # own ask too
    out += [("own_d", TERSE, f"Let's think step by step. What is {i + 17} times 23?") for i in range(10)]
    for a in ("pair_e", "pair_f"):
        out += [(a, PAIR, QUESTIONS[i % 5]) for i in range(10)]
    return [req(f"r{i:03d}", text, account=a, system=system, ts=_ts(i), model=MODEL)
            for i, (a, system, text) in enumerate(out)]


def _scorer(state_dir) -> Scorer:
    accounts = {a: AccountMeta(created_ms=CREATED) for a in
                ("crowd_a", "crowd_b", "crowd_c", "own_d", "pair_e", "pair_f")}
    return Scorer(Store(state_dir), accounts=accounts, releases={MODEL: RELEASE})


# Every account: 100 % high-value requests (reasoning) -> capability concentration 1 x 0.6;
# fresh account (first use 0.5 h after creation, ramp 72 h -> 2 h) 1 x 0.3 (identity);
# release pivot (first use 1 h after release, all on the model) 1 x 0.4 (behaviour).
# corroboration = 1 - (1 - 0.4)(1 - 0.3) = 0.58; risk = content x (0.35 + 0.65 x 0.58) = content x 0.727.
CORR = 0.35 + 0.65 * 0.58
# account -> (own CoT score, content, decision on its last request, crowd requests, holders)
EXPECTED = {
    # 11/11 (10/10) CoT, all from the 3-holder prompt: own share 0 -> no cot hit; content 0.6
    "crowd_a": (None, 0.6, "allow", 11, 3),
    "crowd_b": (None, 0.6, "allow", 10, 3),
    # 12/12 CoT, 8 only from the prompt: own share 4/12 -> (1/3 - 0.2) / 0.4 = 1/3;
    # content = 1 - (1 - 1/3)(1 - 0.6) = 0.7333
    "crowd_c": (1 / 3, 1 - (2 / 3) * 0.4, "allow", 8, 3),
    # CoT in the user's own words: full share 1 -> score 1; content 1
    "own_d": (1.0, 1.0, "flag", 0, 0),
    # the CoT prompt has 2 holders, below CROWD_PROMPT_MIN_ACCOUNTS: the full share counts
    "pair_e": (1.0, 1.0, "flag", 0, 0),
    "pair_f": (1.0, 1.0, "flag", 0, 0),
}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """Every event but each account's last, then the last ones: (scorer, decisions of the last requests,
    decision of crowd_a's last request before crowd_b and crowd_c appeared)."""
    rows = _stream()
    last = {}
    for r in rows:
        last[r["account_id"]] = r["request_id"]
    sc = _scorer(tmp_path_factory.mktemp("crowd") / "state")
    early, final = None, {}
    for r in rows:
        if r["request_id"] not in last.values():
            d, stored = sc.handle(RequestEvent.model_validate(r))
            assert stored
            if r["account_id"] == "crowd_a":
                early = d
    # crowd_a's 10th request arrives after crowd_b and crowd_c: send the last ones in order
    for r in rows:
        if r["request_id"] in last.values():
            final[r["account_id"]], _ = sc.handle(RequestEvent.model_validate(r))
    yield sc, final, early
    sc.store.close()


@pytest.mark.parametrize("account", sorted(EXPECTED))
def test_live_decision_leaves_out_crowd_prompt_cot(replayed, account):
    sc, final, _ = replayed
    own, content, decision, n_crowd, holders = EXPECTED[account]
    d = final[account]
    assert d["decision"] == decision
    assert d["risk"] == pytest.approx(content * CORR, abs=1e-6)
    assert ("account.cot_harvest" in d["reasons"]) is (decision == "flag")
    v = sc.account_view(account)
    assert v["streaming"]["families"]["content"] == pytest.approx(content)
    assert (v["counters"]["crowd_cot"], v["counters"]["crowd_prompt_accounts"]) == (n_crowd, holders)
    cot = [s for s in v["streaming"]["signals"] if s["signal_id"] == "account.cot_harvest"]
    if own is None:
        assert cot == []
    else:
        assert len(cot) == 1 and cot[0]["score"] == pytest.approx(own, abs=1e-6)
    notes = v["streaming"]["notes"]
    if n_crowd:
        share = f"{n_crowd / v['counters']['content_requests']:.0%}"     # 100 % or 67 %
        assert len(notes) == 1 and share in notes[0] and "3 accounts" in notes[0] and "no campaign" in notes[0]
    else:
        assert notes == []


def test_prompt_holders_are_those_seen_so_far(replayed):
    """crowd_a's 10th request came before any other holder of its prompt: the full CoT share counted then."""
    _, _, early = replayed
    assert early["decision"] == "flag" and "account.cot_harvest" in early["reasons"]
    assert early["risk"] == pytest.approx(1.0 * CORR, abs=1e-6)


def test_campaign_member_keeps_the_full_share(tmp_path):
    """An account the last re-link put in a campaign is scored on its whole CoT share, as in batch."""
    sc = _scorer(tmp_path / "state")
    try:
        for r in _stream():
            sc.handle(RequestEvent.model_validate(r))
        sc.store.adopt_relink([{"account_id": "crowd_a", "risk": 0.0, "tier": "clear", "campaign_id": "C0001",
                                "reasons": "", "evidence": []}],
                              {"run_id": 1, "at_ms": T0, "upto_seq": 1, "n_events": 1, "n_accounts": 1,
                               "n_campaigns": 1, "seconds": 0.0})
        v = sc.account_view("crowd_a")
        assert [s["score"] for s in v["streaming"]["signals"] if s["signal_id"] == "account.cot_harvest"] == [1.0]
        assert v["streaming"]["notes"] == []
        assert v["streaming"]["risk"] == pytest.approx(CORR, abs=1e-6)
        assert sc.account_view("crowd_b")["streaming"]["risk"] == pytest.approx(0.6 * CORR, abs=1e-6)
    finally:
        sc.store.close()


@pytest.mark.parametrize("system, user, expected", [
    (CROWD, "What is the capital of France?", True),
    (CROWD, "Show your work: what is 12 squared?", False),     # the user asks too
    (TERSE, "Let's think step by step.", False),                 # only the user asks
    (None, "hello there", False),
])
def test_cot_from_system_per_request(system, user, expected):
    f = request_features(RequestEvent.model_validate(req("r1", user, system=system)))
    assert f.cot_from_system is expected


def _strip_to_version_1(path):
    """Make a store look like one written before schema version 2: no meta table, no sys_cot."""
    con = sqlite3.connect(path)
    con.execute("DROP TABLE meta")
    for a, blob in con.execute("SELECT account_id, state FROM acct").fetchall():
        st = orjson.loads(blob)
        del st["sys_cot"]
        con.execute("UPDATE acct SET state = ? WHERE account_id = ?", (orjson.dumps(st), a))
    con.commit()
    con.close()


def test_version_1_store_is_migrated_and_newer_is_refused(tmp_path):
    rows = _stream()
    st_dir = tmp_path / "state"
    sc = _scorer(st_dir)
    for r in rows:
        sc.handle(RequestEvent.model_validate(r))
    sc.store.close()
    _strip_to_version_1(st_dir / "state.sqlite")

    store = Store(st_dir)
    try:
        # counted from the stream itself: requests with a CoT phrase only in the system prompt
        assert {a: sum(s.sys_cot.values()) for a, s in store.accounts.items()} == \
            {"crowd_a": 11, "crowd_b": 10, "crowd_c": 8, "own_d": 0, "pair_e": 10, "pair_f": 10}
        assert store.crowd_cot(store.accounts["crowd_c"]) == (8, 3)
    finally:
        store.close()
    con = sqlite3.connect(st_dir / "state.sqlite")
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StateVersionError, match=r"state\.sqlite: state schema_version '99'"):
        Store(st_dir)
    pytest.importorskip("fastapi")
    from typer.testing import CliRunner

    from distillwatch.cli import app

    res = CliRunner().invoke(app, ["serve", "--state", str(st_dir), "--token", "t"])
    assert res.exit_code == 2 and "schema_version '99'" in res.output


def test_crowd_log_parity_with_batch_features(tmp_path):
    """After the last event, the live crowd counts and own-CoT scores equal the batch SQL's and
    ``lone_account_hits`` on the same log, and a re-link gives ``scan``'s tiers."""
    from distillwatch.pipeline import scan
    from distillwatch.realtime.relink import Relinker
    from distillwatch.scoring.risk import account_signal_hits, lone_account_hits
    from helpers import pipeline_features

    rows = _stream()
    path = write_jsonl(tmp_path / "log.jsonl", rows)
    _, feats, _ = pipeline_features(path)
    _, hits = account_signal_hits(feats)
    lone = lone_account_hits(feats, hits)
    fi = feats.set_index("account_id")

    sc = Scorer(Store(tmp_path / "state"))
    try:
        for r in rows:
            sc.handle(RequestEvent.model_validate(r))
        for a in fi.index:
            v = sc.account_view(a)
            n = v["counters"]["content_requests"]
            assert n == fi.at[a, "n_requests"]                  # every request has text: same denominator
            assert v["counters"]["crowd_cot"] / n == pytest.approx(fi.at[a, "crowd_cot_share"], abs=1e-12)
            assert v["counters"]["crowd_prompt_accounts"] == int(fi.at[a, "crowd_prompt_accounts"])
            batch = [h.score for h in (lone[a][0] if a in lone else hits[a]) if h.signal_id == "account.cot_harvest"]
            live = [s["score"] for s in v["streaming"]["signals"] if s["signal_id"] == "account.cot_harvest"]
            assert live == pytest.approx(batch, abs=1e-6)          # the view rounds to 6 places
            assert bool(v["streaming"]["notes"]) is (a in lone)
        Relinker(sc.store).run_once()
        res = scan(path, out=None, write_report=False)
        acc = res.accounts.set_index("account_id")
        tier_diff = [a for a in acc.index if sc.store.relinked[a]["tier"] != acc.at[a, "tier"]]
        risk_diff = max(abs(sc.store.relinked[a]["risk"] - float(acc.at[a, "risk"])) for a in acc.index)
        assert tier_diff == [] and risk_diff <= 1e-6
        assert not any(acc["campaign_id"].fillna("").astype(bool))   # three accounts sharing a prompt: no campaign
        json.dumps(sc.account_view("crowd_a"))                       # the view stays JSON-serialisable
    finally:
        sc.store.close()
