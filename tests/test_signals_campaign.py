"""Campaign signals (``campaign.*``): ``evaluate`` on small member / edge tables.

Members are ``acct_features`` rows plus ``content``; edges are the kept account-artifact edges
(``account_id, kind, artifact, n, df, weight``). Expected values follow each docstring: value =
share of members (or median), score = ramp between the documented ends.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from distillwatch.signals import SIGNALS, SignalHit

NAN = float("nan")
JAN = pd.Timestamp("2026-01-15T12:00:00Z")


def members(n: int, **cols) -> pd.DataFrame:
    base = {"account_id": [f"a{i}" for i in range(n)], "content": [0.0] * n, "top_capability": ["general_chat"] * n,
            "created_at": [pd.NaT] * n, "pivot_hours": [NAN] * n, "pivot_share": [NAN] * n, "pivot_model": [None] * n,
            "inferred_utc_offset": [None] * n, "top_ip_country": [None] * n, "billing_country": [None] * n,
            "first_seen": [JAN] * n}
    base.update(cols)
    df = pd.DataFrame(base)
    df["inferred_utc_offset"] = pd.array(df["inferred_utc_offset"].tolist(), dtype="Int64")
    df["first_seen"] = pd.to_datetime(df["first_seen"], utc=True)
    return df


def edges(*groups: tuple[str, str, list[int]]) -> pd.DataFrame:
    """Edges for (kind, artifact, member numbers) groups."""
    rows = [{"account_id": f"a{i}", "kind": kind, "artifact": art, "n": 1, "df": len(ids), "weight": 0.5}
            for kind, art, ids in groups for i in ids]
    return pd.DataFrame(rows, columns=["account_id", "kind", "artifact", "n", "df", "weight"])


NO_EDGES = edges()


def evaluate(sid, m, e) -> SignalHit | None:
    return SIGNALS[sid]().evaluate(m, e)


# ---------------------------------------------------------------------------------------------
# campaign.extraction_content: median of members' content scores; score = value
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, expected", [
    ([0.2, 0.7, 0.9], 0.7),
    ([0.2, 0.4, 0.6, 0.8], 0.5),
    ([0.0, 0.0, 0.0], 0.0),
    ([1.0, 1.0, 0.1], 1.0),
])
def test_extraction_content(content, expected):
    m = members(len(content), content=content)
    h = evaluate("campaign.extraction_content", m, NO_EDGES)
    assert h.signal_id == "campaign.extraction_content" and h.family == "content"
    assert h.value == pytest.approx(expected)
    assert h.score == pytest.approx(expected)
    assert f"{expected:.2f}" in h.evidence


def test_extraction_content_names_the_capability_mix():
    m = members(3, content=[0.9, 0.9, 0.9], top_capability=["coding", "coding", "maths"])
    h = evaluate("campaign.extraction_content", m, NO_EDGES)
    # shares of members (2 of 3, 1 of 3), named as such: the dossier's capability table counts requests
    assert "coding for 67%, maths for 33% of members" in h.evidence


# ---------------------------------------------------------------------------------------------
# share-of-linked-members signals: (signal, linking kinds, ramp lo, ramp hi)
# ---------------------------------------------------------------------------------------------
LINK_SIGNALS = [
    ("campaign.shared_identity", ("payment", "signup_ip"), 0.2, 0.6),
    ("campaign.shared_infrastructure", ("ip_day", "prefix_day", "client_fp"), 0.3, 0.8),
    ("campaign.shared_template", ("template", "system_prompt"), 0.3, 0.8),
    ("campaign.lockstep", ("lockstep",), 0.2, 0.6),
]
# (linked members out of 10, expected value); score is worked out from (lo, hi) in the test
SHARES = [(0, None), (2, 0.2), (3, 0.3), (4, 0.4), (5, 0.5), (6, 0.6), (8, 0.8), (10, 1.0)]
HAND_SCORES = {  # ramp(v, lo, hi) by hand for each (lo, hi)
    (0.2, 0.6): {0.2: 0.0, 0.3: 0.25, 0.4: 0.5, 0.5: 0.75, 0.6: 1.0, 0.8: 1.0, 1.0: 1.0},
    (0.3, 0.8): {0.2: 0.0, 0.3: 0.0, 0.4: 0.2, 0.5: 0.4, 0.6: 0.6, 0.8: 1.0, 1.0: 1.0},
}


@pytest.mark.parametrize("sid, kinds, lo, hi", LINK_SIGNALS, ids=[s[0] for s in LINK_SIGNALS])
@pytest.mark.parametrize("n_linked, value", SHARES, ids=[f"{s[0]}of10" for s in SHARES])
def test_share_linked(sid, kinds, lo, hi, n_linked, value):
    m = members(10)
    # linked members in chunks of two (an odd one joins the last chunk); chunks rotate over the kinds
    chunks = [list(range(i, i + 2)) for i in range(0, n_linked - n_linked % 2, 2)]
    if n_linked % 2:
        chunks[-1].append(n_linked - 1)
    groups = [(kinds[j % len(kinds)], f"artifact-{j}", ids) for j, ids in enumerate(chunks)]
    h = evaluate(sid, m, edges(*groups))
    if value is None:
        assert h is None
        return
    assert h.value == pytest.approx(value)
    assert h.score == pytest.approx(HAND_SCORES[(lo, hi)][value])
    assert h.family == SIGNALS[sid].family
    assert f"{value:.0%}" in h.evidence


@pytest.mark.parametrize("sid, kinds, lo, hi", LINK_SIGNALS, ids=[s[0] for s in LINK_SIGNALS])
def test_share_linked_ignores_other_kinds(sid, kinds, lo, hi):
    other = [k for k in ("payment", "signup_ip", "ip_day", "prefix_day", "client_fp", "template", "system_prompt",
                         "lockstep") if k not in kinds]
    m = members(4)
    e = edges(*[(k, f"{k}-x", [0, 1, 2, 3]) for k in other])
    assert evaluate(sid, m, e) is None


def test_shared_identity_counts_distinct_members_and_cards():
    # a0..a3 share card X, a2..a5 share card Y: 6 of 10 members linked (a2, a3 counted once), 2 cards
    m = members(10)
    e = edges(("payment", "card-X", [0, 1, 2, 3]), ("payment", "card-Y", [2, 3, 4, 5]))
    h = evaluate("campaign.shared_identity", m, e)
    assert h.value == pytest.approx(0.6)
    assert h.score == pytest.approx(1.0)
    assert "2 shared payment fingerprints" in h.evidence


# ---------------------------------------------------------------------------------------------
# campaign.creation_wave: share created inside the densest 72 h window; >= 5 known creation times
# ---------------------------------------------------------------------------------------------
T0 = pd.Timestamp("2026-02-01T00:00:00Z")


def hours(*hs):
    return [T0 + pd.Timedelta(hours=h) if h is not None else pd.NaT for h in hs]


@pytest.mark.parametrize("created, value, score", [
    # 5 of 10 inside 0..70 h, the rest 200 h apart: 0.5 -> ramp(0.3, 0.8) = 0.4
    (hours(0, 1, 2, 3, 70, 200, 400, 600, 800, 1000), 0.5, 0.4),
    # all 6 within a day: 1.0 -> 1
    (hours(0, 2, 4, 6, 8, 10), 1.0, 1.0),
    # every account 100 h apart: best window holds 1 of 5 = 0.2 -> 0
    (hours(0, 100, 200, 300, 400), 0.2, 0.0),
    # 4 of 8 in a wave (0.5 -> 0.4); unknown creation times are left out of the count
    (hours(0, 10, 20, 30, 300, 600, 900, 1200, None, None), 0.5, 0.4),
])
def test_creation_wave(created, value, score):
    m = members(len(created), created_at=created)
    h = evaluate("campaign.creation_wave", m, NO_EDGES)
    assert h.value == pytest.approx(value)
    assert h.score == pytest.approx(score)
    assert h.family == "identity"


@pytest.mark.parametrize("created", [hours(0, 1, 2, 3), hours(0, 1, 2, 3, None, None, None), [pd.NaT] * 6])
def test_creation_wave_needs_five_known_times(created):
    assert evaluate("campaign.creation_wave", members(len(created), created_at=created), NO_EDGES) is None


def test_creation_wave_reads_strings_with_offsets():
    # the same instants as offset strings: 5 within 3 h, 5 spread: 0.5
    created = ["2026-02-01T00:00:00Z", "2026-02-01T03:00:00+02:00", "2026-02-01T01:00:00Z",
               "2026-02-01T02:00:00Z", "2026-02-01T03:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z",
               "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"]
    h = evaluate("campaign.creation_wave", members(10, created_at=created), NO_EDGES)
    assert h.value == pytest.approx(0.5)


# ---------------------------------------------------------------------------------------------
# campaign.release_pivot: share of members with 0 <= pivot_hours <= 24 and pivot_share >= 0.5
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pivots, value, score, model, median", [
    # 5 of 10 pivot (hours 5, 6, 7, 8, 30-is-late, share 0.4-is-low ...): 0.5 -> ramp(0.3, 0.7) = 0.5
    ([(5, .9), (6, .9), (7, .8), (8, .6), (20, .5), (30, .9), (10, .4), (-2, .9), (NAN, NAN), (NAN, NAN)],
     0.5, 0.5, "aurora-3-pro", 7.0),
    ([(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)], 1.0, 1.0, "aurora-3-pro", 2.5),
    ([(1, 1.0), (NAN, NAN), (NAN, NAN), (NAN, NAN), (NAN, NAN)], 0.2, 0.0, "aurora-3-pro", 1.0),
])
def test_release_pivot(pivots, value, score, model, median):
    m = members(len(pivots), pivot_hours=[p[0] for p in pivots], pivot_share=[p[1] for p in pivots],
                pivot_model=["aurora-3-pro" if p[0] == p[0] else None for p in pivots])
    h = evaluate("campaign.release_pivot", m, NO_EDGES)
    assert h.value == pytest.approx(value)
    assert h.score == pytest.approx(score)
    assert h.details["model"] == model
    assert h.details["median_hours"] == pytest.approx(median)
    assert model in h.evidence


@pytest.mark.parametrize("pivots", [
    [(NAN, NAN)] * 4,
    [(30, 1.0), (-1, 1.0), (5, 0.3)],
])
def test_release_pivot_none_when_nobody_pivots(pivots):
    m = members(len(pivots), pivot_hours=[p[0] for p in pivots], pivot_share=[p[1] for p in pivots])
    assert evaluate("campaign.release_pivot", m, NO_EDGES) is None


# ---------------------------------------------------------------------------------------------
# campaign.operator_timezone: members within 1 h of the modal offset whose modal offset is more
# than 2 h from every offset of their IP and billing countries; share of members with an offset,
# ramp 0.3 -> 0.7, needs >= 3 members with an offset. January: JP +9, SG +8, DE +1.
# ---------------------------------------------------------------------------------------------
def _tz(specs):
    """specs: (offset, ip country, billing country) per member."""
    return members(len(specs), inferred_utc_offset=[s[0] for s in specs], top_ip_country=[s[1] for s in specs],
                   billing_country=[s[2] for s in specs])


@pytest.mark.parametrize("specs, value, score, mode", [
    # a ring keeping UTC+8 hours behind German IPs and cards: all unexplained
    ([(8, "DE", "DE")] * 5, 1.0, 1.0, 8),
    # the same hours from Japan (1 h away): explained by the country
    ([(8, "JP", "JP")] * 5, 0.0, 0.0, 8),
    # explained by the billing country alone (SG is +8)
    ([(8, "DE", "SG")] * 5, 0.0, 0.0, 8),
    # members 1 h from the mode agree, 2 h do not: 4 of 5 unexplained -> 0.8 -> 1
    ([(8, "DE", "DE"), (8, "DE", "DE"), (9, "DE", "DE"), (7, "DE", "DE"), (10, "DE", "DE")], 0.8, 1.0, 8),
    # 5 agreeing of 10 with an offset: 0.5 -> 0.5; members without an offset are not counted
    ([(8, "DE", "DE")] * 5 + [(2, "DE", "DE")] * 3 + [(-3, "DE", "DE")] * 2 + [(None, "DE", "DE")] * 4, 0.5, 0.5, 8),
    # boundary: mode 7 is exactly 2 h from JP -> explained; mode 6 is 3 h away -> unexplained
    ([(7, "JP", "JP")] * 3, 0.0, 0.0, 7),
    ([(6, "JP", "JP")] * 3, 1.0, 1.0, 6),
])
def test_operator_timezone(specs, value, score, mode):
    h = evaluate("campaign.operator_timezone", _tz(specs), NO_EDGES)
    assert h.value == pytest.approx(value)
    assert h.score == pytest.approx(score)
    assert h.details["utc_offset"] == mode
    assert f"UTC{mode:+d}" in h.evidence


@pytest.mark.parametrize("specs", [[(8, "DE", "DE")] * 2 + [(None, "DE", "DE")] * 5, [(None, None, None)] * 4])
def test_operator_timezone_needs_three_offsets(specs):
    assert evaluate("campaign.operator_timezone", _tz(specs), NO_EDGES) is None


# ---------------------------------------------------------------------------------------------
# campaign.extraction_templates: request-weighted extraction share over the group's templates
# ---------------------------------------------------------------------------------------------
def _tpl_edges(specs):
    """specs: (template, [(member, n requests)], extraction_share)."""
    rows = [{"account_id": f"a{i}", "kind": "template", "artifact": t, "n": n, "df": len(holders), "weight": 0.5,
             "extraction_share": share}
            for t, holders, share in specs for i, n in holders]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("specs, value, score", [
    # 100 requests at 1.0 and 300 at 0.0 -> 100/400; 400 requests is full support
    ([("t1", [(0, 50), (1, 50)], 1.0), ("t2", [(0, 100), (2, 200)], 0.0)], 0.25, 0.25),
    # one template, share 0.8, but only 10 requests: no support, score 0
    ([("t1", [(0, 7), (1, 3)], 0.8)], 0.8, 0.0),
    # 25 requests: support ramp (25 - 10) / (40 - 10) = 0.5 -> 0.8 * 0.5
    ([("t1", [(0, 20), (1, 5)], 0.8)], 0.8, 0.4),
    ([("t1", [(0, 10), (1, 30)], 0.5), ("t2", [(1, 60)], 1.0)], 0.8, 0.8),  # (40*0.5 + 60*1.0) / 100
])
def test_extraction_templates(specs, value, score):
    h = evaluate("campaign.extraction_templates", members(3), _tpl_edges(specs))
    assert h.value == pytest.approx(value) and h.score == pytest.approx(score)
    assert h.family == "content"


def test_extraction_templates_none_without_templates():
    assert evaluate("campaign.extraction_templates", members(3), edges(("payment", "c", [0, 1, 2]))) is None


def test_every_campaign_signal_is_covered():
    covered = {"campaign.extraction_content", "campaign.extraction_templates", "campaign.creation_wave",
               "campaign.release_pivot", "campaign.operator_timezone",
               *(s[0] for s in LINK_SIGNALS)}
    assert covered == {sid for sid, cls in SIGNALS.items() if cls.scope == "campaign"}


def test_scores_are_finite():
    m = members(3, content=[0.5, 0.5, 0.5])
    for sid, cls in SIGNALS.items():
        if cls.scope == "campaign":
            h = cls().evaluate(m, NO_EDGES)
            assert h is None or (math.isfinite(h.score) and 0.0 <= h.score <= 1.0)
