"""Scoring (``scoring/risk.py``): noisy-OR, risk and tiers against values worked out by hand from its docstring.

risk = content * (base + (1 - base) * corroboration), corroboration = noisy-OR of the other
three families. Tier rules are tested with explicit :class:`ScoreParams` so that tuning the
defaults does not silently change what a case means; invariants are also checked on the defaults.
"""

from __future__ import annotations

import itertools

import pytest

from distillwatch.scoring.risk import (ScoreParams, account_signal_hits, combine_risk, family_scores, noisy_or,
                                       tier_for)
from distillwatch.signals import SignalHit

from helpers import account_frame


@pytest.mark.parametrize("scores, expected", [
    ([], 0.0),
    ([0.0], 0.0),
    ([0.5], 0.5),
    ([0.5, 0.5], 0.75),
    ([0.2, 0.3, 0.5], 1 - 0.8 * 0.7 * 0.5),  # 0.72
    ([1.0, 0.3], 1.0),
    ([1.5], 1.0),    # clamped to 1
    ([-0.5], 0.0),   # clamped to 0
    ([0.1] * 10, 1 - 0.9 ** 10),
])
def test_noisy_or(scores, expected):
    assert noisy_or(scores) == pytest.approx(expected)


@pytest.mark.parametrize("fam, base, expected", [
    ({}, 0.35, 0.0),
    ({"content": 1.0}, 0.35, 0.35),                 # content alone caps at base
    ({"content": 0.8}, 0.35, 0.28),
    ({"content": 0.0, "infrastructure": 1.0, "behaviour": 1.0, "identity": 1.0}, 0.35, 0.0),
    ({"infrastructure": 1.0, "behaviour": 1.0, "identity": 1.0}, 0.35, 0.0),
    ({"content": 1.0, "infrastructure": 0.5}, 0.35, 0.675),                 # 0.35 + 0.65 * 0.5
    ({"content": 0.8, "infrastructure": 0.5, "behaviour": 0.5}, 0.35, 0.67),  # 0.8 * (0.35 + 0.65 * 0.75)
    ({"content": 0.5, "behaviour": 0.5, "identity": 0.2}, 0.35, 0.37),      # 0.5 * (0.35 + 0.65 * 0.6)
    ({"content": 1.0, "infrastructure": 1.0}, 0.35, 1.0),
    ({"content": 1.0}, 0.5, 0.5),
    ({"content": 0.6, "identity": 1.0}, 0.5, 0.6),
])
def test_combine_risk(fam, base, expected):
    assert combine_risk(fam, base) == pytest.approx(expected)


def test_content_only_never_exceeds_base():
    for c in (0.0, 0.1, 0.5, 0.99, 1.0):
        assert combine_risk({"content": c, "infrastructure": 0, "behaviour": 0, "identity": 0}) <= 0.35 + 1e-12


P = ScoreParams(ban_risk=0.8, ban_content=0.6, ban_families=3, review_risk=0.6, ban_min_links=2)
ALL = {"content": 1.0, "infrastructure": 1.0, "behaviour": 1.0, "identity": 1.0}

# (risk, families, campaign links or None, verification, expected tier) under P
TIER_CASES = [
    ("campaign member, all families", 1.0, ALL, 2, None, "ban"),
    ("verification none can be banned", 1.0, ALL, 2, "none", "ban"),
    ("verified_org goes to review", 1.0, ALL, 2, "verified_org", "review"),
    ("campaign with one link", 1.0, ALL, 1, None, "review"),
    ("lone evader: infra and behaviour >= 0.5", 0.8375,
     {"content": 1.0, "infrastructure": 0.5, "behaviour": 0.5, "identity": 0.0}, None, None, "ban"),
    ("lone, behaviour below 0.5", 1.0, {"content": 1.0, "infrastructure": 1.0, "behaviour": 0.4, "identity": 1.0},
     None, None, "review"),
    ("lone, infrastructure below 0.5", 1.0, {"content": 1.0, "infrastructure": 0.4, "behaviour": 1.0, "identity": 1.0},
     None, None, "review"),
    ("only two strong families", 1.0, {"content": 1.0, "infrastructure": 1.0, "behaviour": 0.0, "identity": 0.0},
     3, None, "review"),
    ("content below ban_content", 0.9, {"content": 0.55, "infrastructure": 1.0, "behaviour": 1.0, "identity": 1.0},
     2, None, "review"),
    ("risk below ban_risk", 0.79, ALL, 2, None, "review"),
    ("every threshold met exactly", 0.8, {"content": 0.6, "infrastructure": 0.5, "behaviour": 0.5, "identity": 0.0},
     2, None, "ban"),
    ("review threshold exactly", 0.6, {"content": 0.6}, None, None, "review"),
    ("just below review", 0.59, ALL, 2, None, "clear"),
    ("nothing", 0.0, {"content": 0.0, "infrastructure": 0.0, "behaviour": 0.0, "identity": 0.0}, None, None, "clear"),
]


@pytest.mark.parametrize("risk, fam, links, verification, tier", [c[1:] for c in TIER_CASES],
                         ids=[c[0] for c in TIER_CASES])
def test_tier_for(risk, fam, links, verification, tier):
    assert tier_for(risk, fam, links, verification, P) == tier


def test_ban_families_parameter_is_honoured():
    fam = {"content": 1.0, "infrastructure": 1.0, "behaviour": 0.0, "identity": 0.0}
    assert tier_for(1.0, fam, 3, None, ScoreParams(ban_families=3, ban_min_links=2)) == "review"
    assert tier_for(1.0, fam, 3, None, ScoreParams(ban_families=2, ban_min_links=2)) == "ban"


GRID = [0.0, 0.5, 1.0]


def test_verified_org_is_never_banned_with_default_params():
    p = ScoreParams()
    for c, i, b, d in itertools.product(GRID, repeat=4):
        fam = {"content": c, "infrastructure": i, "behaviour": b, "identity": d}
        for links in (None, 0, 1, 2, 5):
            assert tier_for(combine_risk(fam, p.base), fam, links, "verified_org", p) != "ban"
            assert tier_for(1.0, fam, links, "verified_org", p) != "ban"


def test_no_content_means_no_risk_even_with_maximal_infrastructure():
    p = ScoreParams()
    fam = {"content": 0.0, "infrastructure": 1.0, "behaviour": 1.0, "identity": 1.0}
    risk = combine_risk(fam, p.base)
    assert risk == 0.0
    for links in (None, 2, 5):
        assert tier_for(risk, fam, links, None, p) == "clear"


def test_content_only_is_clear_with_default_params():
    p = ScoreParams()
    fam = {"content": 1.0, "infrastructure": 0.0, "behaviour": 0.0, "identity": 0.0}
    risk = combine_risk(fam, p.base)
    assert risk == pytest.approx(0.35)  # "content alone therefore reaches at most 0.35"
    assert tier_for(risk, fam, None, None, p) == "clear"


def test_family_scores_weights_and_noisy_or():
    hits = [SignalHit("account.cot_harvest", "content", 0.4, 0.5, ""),              # weight 1
            SignalHit("account.capability_concentration", "content", 1.0, 1.0, ""),  # weight 0.6 (docstring)
            SignalHit("account.ip_churn", "infrastructure", 0.55, 0.5, ""),           # weight 1
            SignalHit("account.fresh_account", "identity", 1.0, 1.0, "")]             # weight 0.3 (docstring)
    fam = family_scores(hits)
    assert set(fam) == {"content", "infrastructure", "behaviour", "identity"}
    assert fam["content"] == pytest.approx(1 - 0.5 * 0.4)  # 0.8
    assert fam["infrastructure"] == pytest.approx(0.5)
    assert fam["identity"] == pytest.approx(0.3)
    assert fam["behaviour"] == 0.0
    assert family_scores([]) == {"content": 0.0, "infrastructure": 0.0, "behaviour": 0.0, "identity": 0.0}


def test_account_signal_hits_weighted_scores_and_evidence():
    df = account_frame([{"account_id": "quiet"},
                        {"account_id": "loud", "cot_share": 0.4, "hv_share": 0.775}])
    scores, hits = account_signal_hits(df)
    assert scores.loc[0].sum() == 0.0
    assert scores.loc[1, "account.cot_harvest"] == pytest.approx(0.5)                   # 0.5 x weight 1
    assert scores.loc[1, "account.capability_concentration"] == pytest.approx(0.3)      # 0.5 x weight 0.6
    assert hits["quiet"] == []
    got = {h.signal_id: h for h in hits["loud"]}
    assert set(got) == {"account.cot_harvest", "account.capability_concentration"}
    assert got["account.cot_harvest"].score == pytest.approx(0.5)  # unweighted in the hit
    assert got["account.cot_harvest"].value == pytest.approx(0.4)
    assert "40%" in got["account.cot_harvest"].evidence
