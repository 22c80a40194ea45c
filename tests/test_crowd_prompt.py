"""Chain-of-thought from a crowd's system prompt is not a lone account's own content evidence.

An app's system prompt ("Think step by step before answering.") puts a CoT phrase on every request
its users send. ``request.cot_elicitation`` marks requests whose CoT phrase sits only in the system
prompt (``cot_from_system``); the account features count those whose prompt at least three
accounts send (``crowd_cot_share``); an account linked to no campaign is scored on the rest
(``CotHarvestSignal.compute_own``, ``scoring.risk.lone_account_hits``). Expected values are worked
out by hand from those docstrings.
"""

from __future__ import annotations

import pandas as pd
import pytest

from distillwatch.linkage.campaigns import Group
from distillwatch.scoring.risk import ScoreParams, account_signal_hits, lone_account_hits
from distillwatch.signals import SIGNALS
from distillwatch.signals.base import SignalHit
from helpers import NAN, account_frame, pipeline_features, req, write_jsonl

CROWD = "You are a helpful assistant. Think step by step before answering."   # sent by 3 accounts
PAIR = "Reason it out carefully."                                                # sent by 2 accounts
PLAIN = "What is the capital of France?"                                         # no CoT phrase

# (request row, expected is_cot, expected cot_from_system)
REQUESTS = [
    (req("a1", PLAIN, account="acct_a", system=CROWD), True, True),        # phrase only in the crowd prompt
    (req("a2", PLAIN, account="acct_a", system=CROWD), True, True),
    (req("a3", PLAIN, account="acct_a", system=CROWD), True, True),
    (req("a4", "Show your work.", account="acct_a", system=CROWD), True, False),  # the user asks too: own
    (req("a5", "hello there", account="acct_a"), False, False),            # no system prompt, no phrase
    (req("b1", PLAIN, account="acct_b", system=CROWD), True, True),
    (req("b2", PLAIN, account="acct_b", system=CROWD), True, True),
    (req("c1", PLAIN, account="acct_c", system=CROWD), True, True),
    (req("d1", PLAIN, account="acct_d", system=PAIR), True, True),         # system-only, but 2 holders
    (req("d2", PLAIN, account="acct_d", system=PAIR), True, True),
    (req("e1", PLAIN, account="acct_e", system=PAIR), True, True),
    (req("f1", "Let's think step by step.", account="acct_f", system="You are terse."), True, False),  # user only
]

# account -> (cot_share, crowd_cot_share, crowd_prompt_accounts)
ACCOUNTS = {
    "acct_a": (4 / 5, 3 / 5, 3),   # a1-a4 elicit CoT; a1-a3 only through CROWD (3 holders: a, b, c)
    "acct_b": (1.0, 1.0, 3),
    "acct_c": (1.0, 1.0, 3),
    "acct_d": (1.0, 0.0, 0),       # PAIR has 2 holders: below CROWD_PROMPT_MIN_ACCOUNTS (3)
    "acct_e": (1.0, 0.0, 0),
    "acct_f": (1.0, 0.0, 0),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = write_jsonl(tmp_path_factory.mktemp("crowd") / "log.jsonl", [r for r, _, _ in REQUESTS])
    rf, feats, _ = pipeline_features(path)
    return rf[["is_cot", "cot_from_system"]], feats.set_index("account_id")


@pytest.mark.parametrize("row, is_cot, from_system", REQUESTS, ids=[r["request_id"] for r, _, _ in REQUESTS])
def test_cot_from_system_marks_a_phrase_only_in_the_system_prompt(built, row, is_cot, from_system):
    rf, _ = built
    assert bool(rf.loc[row["request_id"], "is_cot"]) is is_cot
    assert bool(rf.loc[row["request_id"], "cot_from_system"]) is from_system


@pytest.mark.parametrize("account", sorted(ACCOUNTS))
def test_crowd_cot_share_counts_prompts_of_at_least_three_accounts(built, account):
    _, feats = built
    cot, crowd, holders = ACCOUNTS[account]
    assert feats.loc[account, "cot_share"] == pytest.approx(cot)
    assert feats.loc[account, "crowd_cot_share"] == pytest.approx(crowd)
    assert int(feats.loc[account, "crowd_prompt_accounts"]) == holders


# (cot_share, crowd_cot_share, n_requests, own value, own score): ramp 0.2 -> 0.6, gate 10 requests
OWN_CASES = [
    (0.8, 0.6, 100, 0.2, 0.0),
    (0.8, 0.4, 100, 0.4, 0.5),
    (0.8, 0.0, 100, 0.8, 1.0),
    (0.8, NAN, 100, 0.8, 1.0),     # no crowd figure: nothing is left out
    (0.5, 0.0, 10, 0.5, 0.75),
    (0.5, 0.1, 9, 0.4, 0.0),       # too few requests
    (1.0, 1.0, 100, 0.0, 0.0),     # every CoT phrase was the crowd prompt's
]


@pytest.mark.parametrize("cot, crowd, n, value, score", OWN_CASES)
def test_cot_harvest_own_share(cot, crowd, n, value, score):
    sig = SIGNALS["account.cot_harvest"]()
    v, s = sig.compute_own(account_frame([dict(cot_share=cot, crowd_cot_share=crowd, n_requests=n)]))
    assert float(v.iat[0]) == pytest.approx(value)
    assert float(s.iat[0]) == pytest.approx(score)
    # the campaign-member score is unchanged: ramp of the whole cot_share
    _, full = sig.compute(account_frame([dict(cot_share=cot, n_requests=n)]))
    assert float(full.iat[0]) == pytest.approx(0.0 if n < 10 else min(1.0, max(0.0, (cot - 0.2) / 0.4)))


def _frame():
    return account_frame([
        dict(account_id="none", cot_share=0.8, hv_share=0.95),                                   # no crowd CoT
        dict(account_id="part", cot_share=0.8, crowd_cot_share=0.4, crowd_prompt_accounts=6, hv_share=0.95),
        dict(account_id="all", cot_share=1.0, crowd_cot_share=1.0, crowd_prompt_accounts=52, hv_share=0.95),
    ])


def test_lone_account_hits_rescore_only_accounts_with_crowd_cot():
    df = _frame()
    _, hits = account_signal_hits(df)
    lone = lone_account_hits(df, hits)
    assert set(lone) == {"part", "all"}
    ids = [h.signal_id for h in hits["part"]]
    new, note = lone["part"]
    assert [h.signal_id for h in new] == ids                         # replaced in place
    cot = next(h for h in new if h.signal_id == "account.cot_harvest")
    assert cot.value == pytest.approx(0.4) and cot.score == pytest.approx(0.5)   # (0.4 - 0.2) / 0.4
    assert "40%" in note and "6 accounts" in note
    new, note = lone["all"]
    assert [h.signal_id for h in new] == [i for i in ids if i != "account.cot_harvest"]   # own share 0: removed
    assert "100%" in note and "52 accounts" in note
    # capability concentration is untouched: 0.95 -> score 1
    assert next(h for h in new if h.signal_id == "account.capability_concentration").score == pytest.approx(1.0)


LINKS = ("campaign.shared_template", "campaign.shared_infrastructure")


def test_score_accounts_uses_own_cot_only_outside_campaigns():
    """Same features, once lone and once a campaign member: the crowd CoT counts only in the campaign."""
    from distillwatch.pipeline import _score_accounts

    df = account_frame([
        dict(account_id="lone", cot_share=1.0, crowd_cot_share=1.0, crowd_prompt_accounts=5, hv_share=0.95,
             verification=None, pivot_hours=10.0, pivot_share=0.9, shared_template_share=0.8),
        dict(account_id="member", cot_share=1.0, crowd_cot_share=1.0, crowd_prompt_accounts=5, hv_share=0.95,
             verification=None, pivot_hours=10.0, pivot_share=0.9, shared_template_share=0.8),
    ])
    _, hits = account_signal_hits(df)
    g = Group(0, ["member"], pd.DataFrame(), hits=[SignalHit(s, SIGNALS[s].family, 1.0, 1.0, "x") for s in LINKS],
              is_campaign=True, campaign_id="C0001")
    acc = _score_accounts(df, hits, [g], ScoreParams(), lone_account_hits(df, hits)).set_index("account_id")
    # lone: content = capability concentration only, 0.6 x 1 = 0.6; behaviour = 1 - (1 - 0.4)(1 - 0.3) = 0.58
    assert acc.loc["lone", "content"] == pytest.approx(0.6)
    assert acc.loc["lone", "behaviour"] == pytest.approx(0.58)
    assert acc.loc["lone", "risk"] == pytest.approx(0.6 * (0.35 + 0.65 * 0.58))   # 0.4362: clear
    assert acc.loc["lone", "tier"] == "clear"
    assert "account.cot_harvest" not in acc.loc["lone", "reasons"]
    # member: cot_harvest 1 -> content 1
    assert acc.loc["member", "content"] == pytest.approx(1.0)
    assert "account.cot_harvest" in acc.loc["member", "reasons"]
