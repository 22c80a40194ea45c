"""Account signals (``account.*``): ``compute`` and ``explain`` on hand-built feature rows.

Expected values come from each signal's docstring: the ramp ``0 at lo, 1 at hi, linear between``,
the ``min_requests`` gate and the extra conditions it names. A neutral row scores 0 everywhere;
each case changes only the columns it is about.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from distillwatch.features.account_features import country_utc_offsets, infer_utc_offset
from distillwatch.signals import SIGNALS

from helpers import JAN, NAN, account_frame as frame

JUL = pd.Timestamp("2026-07-15T12:00:00Z")


def run(sid: str, row: dict) -> tuple[float, float]:
    value, score = SIGNALS[sid]().compute(frame([row]))
    return float(value.iat[0]), float(score.iat[0])


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)


# (signal id, overrides, expected value, expected score)
CASES = [
    # window_mmd: share of MMD windows rejected, ramp 0.1 -> 0.5, min 16 requests, abstains untested
    ("account.window_mmd", dict(mmd_windows=10, mmd_rejected=3), 0.3, 0.5),
    ("account.window_mmd", dict(mmd_windows=10, mmd_rejected=1), 0.1, 0.0),
    ("account.window_mmd", dict(mmd_windows=4, mmd_rejected=4), 1.0, 1.0),
    ("account.window_mmd", dict(mmd_windows=0, mmd_rejected=0), NAN, 0.0),
    ("account.window_mmd", dict(n_requests=12, mmd_windows=1, mmd_rejected=1), 1.0, 0.0),
    ("account.window_mmd", {}, NAN, 0.0),
    # topic_coverage: coverage z, ramp 2 -> 4, min 20 requests
    ("account.topic_coverage", dict(coverage_z=3.0), 3.0, 0.5),
    ("account.topic_coverage", dict(coverage_z=4.5), 4.5, 1.0),
    ("account.topic_coverage", dict(coverage_z=-6.0), -6.0, 0.0),
    ("account.topic_coverage", dict(n_requests=19, coverage_z=5.0), 5.0, 0.0),
    ("account.topic_coverage", {}, NAN, 0.0),
    # cot_harvest: cot_share, ramp 0.2 -> 0.6, min 10 requests
    ("account.cot_harvest", dict(cot_share=0.2), 0.2, 0.0),
    ("account.cot_harvest", dict(cot_share=0.1), 0.1, 0.0),
    ("account.cot_harvest", dict(cot_share=0.4), 0.4, 0.5),
    ("account.cot_harvest", dict(cot_share=0.6), 0.6, 1.0),
    ("account.cot_harvest", dict(cot_share=0.9), 0.9, 1.0),
    ("account.cot_harvest", dict(cot_share=0.5, n_requests=9), 0.5, 0.0),
    ("account.cot_harvest", dict(cot_share=0.5, n_requests=10), 0.5, 0.75),
    ("account.cot_harvest", dict(cot_share=NAN), NAN, 0.0),
    # capability_concentration: hv_share, ramp 0.6 -> 0.95
    ("account.capability_concentration", dict(hv_share=0.6), 0.6, 0.0),
    ("account.capability_concentration", dict(hv_share=0.5), 0.5, 0.0),
    ("account.capability_concentration", dict(hv_share=0.775), 0.775, 0.5),
    ("account.capability_concentration", dict(hv_share=0.95), 0.95, 1.0),
    ("account.capability_concentration", dict(hv_share=1.0), 1.0, 1.0),
    ("account.capability_concentration", dict(hv_share=1.0, n_requests=9), 1.0, 0.0),
    ("account.capability_concentration", dict(hv_share=NAN), NAN, 0.0),
    # rubric_harvest: rubric_share, ramp 0.2 -> 0.6
    ("account.rubric_harvest", dict(rubric_share=0.1), 0.1, 0.0),
    ("account.rubric_harvest", dict(rubric_share=0.2), 0.2, 0.0),
    ("account.rubric_harvest", dict(rubric_share=0.3), 0.3, 0.25),
    ("account.rubric_harvest", dict(rubric_share=0.6), 0.6, 1.0),
    ("account.rubric_harvest", dict(rubric_share=0.9), 0.9, 1.0),
    ("account.rubric_harvest", dict(rubric_share=0.7, n_requests=9), 0.7, 0.0),
    ("account.rubric_harvest", dict(rubric_share=NAN), NAN, 0.0),
    # template_reuse: shared_template_share, ramp 0.3 -> 0.8
    ("account.template_reuse", dict(shared_template_share=0.3), 0.3, 0.0),
    ("account.template_reuse", dict(shared_template_share=0.2), 0.2, 0.0),
    ("account.template_reuse", dict(shared_template_share=0.55), 0.55, 0.5),
    ("account.template_reuse", dict(shared_template_share=0.8), 0.8, 1.0),
    ("account.template_reuse", dict(shared_template_share=0.95), 0.95, 1.0),
    ("account.template_reuse", dict(shared_template_share=0.9, n_requests=9), 0.9, 0.0),
    ("account.template_reuse", dict(shared_template_share=NAN), NAN, 0.0),
    # output_harvest: long_output_share, ramp 0.3 -> 0.8, needs single_turn_share >= 0.5
    # extraction_substream: requests on extraction-pure templates, ramp 10 -> 50, >= 10 requests
    ("account.extraction_substream", dict(pure_template_requests=30), 30, 0.5),
    ("account.extraction_substream", dict(pure_template_requests=10), 10, 0.0),
    ("account.extraction_substream", dict(pure_template_requests=50, n_requests=3000), 50, 1.0),
    ("account.extraction_substream", dict(pure_template_requests=9, n_requests=9), 9, 0.0),
    ("account.output_harvest", dict(long_output_share=0.55, single_turn_share=0.5), 0.55, 0.5),
    ("account.output_harvest", dict(long_output_share=0.55, single_turn_share=0.49), 0.55, 0.0),
    ("account.output_harvest", dict(long_output_share=0.8, single_turn_share=1.0), 0.8, 1.0),
    ("account.output_harvest", dict(long_output_share=0.3, single_turn_share=1.0), 0.3, 0.0),
    ("account.output_harvest", dict(long_output_share=0.2, single_turn_share=1.0), 0.2, 0.0),
    ("account.output_harvest", dict(long_output_share=0.95, single_turn_share=0.6), 0.95, 1.0),
    ("account.output_harvest", dict(long_output_share=0.9, single_turn_share=1.0, n_requests=9), 0.9, 0.0),
    ("account.output_harvest", dict(long_output_share=0.9, single_turn_share=NAN), 0.9, 0.0),
    ("account.output_harvest", dict(long_output_share=NAN, single_turn_share=1.0), NAN, 0.0),
    # round_the_clock: distinct_hours, ramp 16 -> 22; >= 30 requests, >= 3 active days, no sleep gap
    ("account.round_the_clock", dict(distinct_hours=10), 10, 0.0),
    ("account.round_the_clock", dict(distinct_hours=16), 16, 0.0),
    ("account.round_the_clock", dict(distinct_hours=19), 19, 0.5),
    ("account.round_the_clock", dict(distinct_hours=22), 22, 1.0),
    ("account.round_the_clock", dict(distinct_hours=24), 24, 1.0),
    ("account.round_the_clock", dict(distinct_hours=24, active_days=2), 24, 0.0),
    ("account.round_the_clock", dict(distinct_hours=24, active_days=3), 24, 1.0),
    ("account.round_the_clock", dict(distinct_hours=24, inferred_utc_offset=8), 24, 0.0),
    ("account.round_the_clock", dict(distinct_hours=19, n_requests=29), 19, 0.0),
    ("account.round_the_clock", dict(distinct_hours=19, n_requests=30), 19, 0.5),
    # regular_cadence: gap_cv, ramp DOWN from 1.0 (score 0) to 0.3 (score 1); >= 20 requests
    ("account.regular_cadence", dict(gap_cv=1.0), 1.0, 0.0),
    ("account.regular_cadence", dict(gap_cv=2.0), 2.0, 0.0),
    ("account.regular_cadence", dict(gap_cv=0.65), 0.65, 0.5),
    ("account.regular_cadence", dict(gap_cv=0.3), 0.3, 1.0),
    ("account.regular_cadence", dict(gap_cv=0.05), 0.05, 1.0),
    ("account.regular_cadence", dict(gap_cv=0.1, n_requests=19), 0.1, 0.0),
    ("account.regular_cadence", dict(gap_cv=0.1, n_requests=20), 0.1, 1.0),
    ("account.regular_cadence", dict(gap_cv=NAN), NAN, 0.0),
    # timezone_mismatch: circular hours to the nearest offset of IP / billing country, ramp 3 -> 6,
    # 0 unless both disagree. JP is UTC+9 only; IN +5.5; DE +1 in January, +2 in July.
    ("account.timezone_mismatch", dict(inferred_utc_offset=9, top_ip_country="JP", billing_country="JP"), 0.0, 0.0),
    ("account.timezone_mismatch", dict(inferred_utc_offset=6, top_ip_country="JP", billing_country="JP"), 3.0, 0.0),
    ("account.timezone_mismatch", dict(inferred_utc_offset=5, top_ip_country="JP", billing_country="JP"), 4.0, 1 / 3),
    ("account.timezone_mismatch", dict(inferred_utc_offset=4, top_ip_country="JP", billing_country="JP"), 5.0, 2 / 3),
    ("account.timezone_mismatch", dict(inferred_utc_offset=3, top_ip_country="JP", billing_country="JP"), 6.0, 1.0),
    # circular: +1 is 8 h from +9 one way and 16 h the other
    ("account.timezone_mismatch", dict(inferred_utc_offset=1, top_ip_country="JP", billing_country="JP"), 8.0, 1.0),
    # circular across the date line: -11 and +13 (NZ summer) are the same local time
    ("account.timezone_mismatch", dict(inferred_utc_offset=-11, top_ip_country="NZ", billing_country="NZ"), 0.0, 0.0),
    # only one of the two countries disagrees: value is the smaller distance
    ("account.timezone_mismatch", dict(inferred_utc_offset=5, top_ip_country="JP", billing_country="IN"), 0.5, 0.0),
    ("account.timezone_mismatch", dict(inferred_utc_offset=-5, top_ip_country="JP", billing_country="DE"), 6.0, 1.0),
    # daylight saving: DE is +1 in January (3 h from -2), +2 in July (4 h from -2)
    ("account.timezone_mismatch", dict(inferred_utc_offset=-2, top_ip_country="DE", billing_country="DE",
                                       first_seen=JAN), 3.0, 0.0),
    ("account.timezone_mismatch", dict(inferred_utc_offset=-2, top_ip_country="DE", billing_country="DE",
                                       first_seen=JUL), 4.0, 1 / 3),
    # no inferred offset, or no IP country: no evidence
    ("account.timezone_mismatch", dict(inferred_utc_offset=None, top_ip_country="JP", billing_country="JP"), NAN, 0.0),
    ("account.timezone_mismatch", dict(inferred_utc_offset=1, top_ip_country=None, billing_country="JP"), 8.0, 0.0),
    # light accounts (< 50 requests) are too noisy to read
    ("account.timezone_mismatch", dict(inferred_utc_offset=1, top_ip_country="JP", billing_country="JP",
                                       n_requests=49), 8.0, 0.0),
    ("account.timezone_mismatch", dict(inferred_utc_offset=1, top_ip_country="JP", billing_country="JP",
                                       n_requests=50), 8.0, 1.0),
    # ip_churn: n_prefixes / n_requests, ramp 0.3 -> 0.8
    ("account.ip_churn", dict(n_prefixes=2, n_requests=20), 0.1, 0.0),
    ("account.ip_churn", dict(n_prefixes=6, n_requests=20), 0.3, 0.0),
    ("account.ip_churn", dict(n_prefixes=11, n_requests=20), 0.55, 0.5),
    ("account.ip_churn", dict(n_prefixes=16, n_requests=20), 0.8, 1.0),
    ("account.ip_churn", dict(n_prefixes=20, n_requests=20), 1.0, 1.0),
    ("account.ip_churn", dict(n_prefixes=9, n_requests=9), 1.0, 0.0),
    ("account.ip_churn", dict(n_prefixes=NAN, n_requests=20), NAN, 0.0),
    # anonymising_egress: anon_share + 0.5 * hosting_share, ramp 0.3 -> 0.9
    ("account.anonymising_egress", dict(anon_share=0.3, hosting_share=0.6), 0.6, 0.5),
    ("account.anonymising_egress", dict(anon_share=0.0, hosting_share=0.6), 0.3, 0.0),
    ("account.anonymising_egress", dict(anon_share=0.1, hosting_share=0.2), 0.2, 0.0),
    ("account.anonymising_egress", dict(anon_share=0.0, hosting_share=1.0), 0.5, 1 / 3),
    ("account.anonymising_egress", dict(anon_share=0.9, hosting_share=0.0), 0.9, 1.0),
    ("account.anonymising_egress", dict(anon_share=1.0, hosting_share=0.0), 1.0, 1.0),
    ("account.anonymising_egress", dict(anon_share=1.0, n_requests=9), 1.0, 0.0),
    ("account.anonymising_egress", dict(anon_share=NAN, hosting_share=0.0), NAN, 0.0),
    # fresh_account: age_at_first_use_h, ramp DOWN from 72 h (0) to 2 h (1); min 1 request
    ("account.fresh_account", dict(age_at_first_use_h=72.0), 72.0, 0.0),
    ("account.fresh_account", dict(age_at_first_use_h=100.0), 100.0, 0.0),
    ("account.fresh_account", dict(age_at_first_use_h=37.0), 37.0, 0.5),
    ("account.fresh_account", dict(age_at_first_use_h=2.0), 2.0, 1.0),
    ("account.fresh_account", dict(age_at_first_use_h=0.5), 0.5, 1.0),
    ("account.fresh_account", dict(age_at_first_use_h=0.5, n_requests=1), 0.5, 1.0),
    ("account.fresh_account", dict(age_at_first_use_h=NAN), NAN, 0.0),
    # release_pivot: 1 when 0 <= pivot_hours <= 24 and pivot_share >= 0.5; min 5 requests
    ("account.release_pivot", dict(pivot_hours=10.0, pivot_share=0.6), 10.0, 1.0),
    ("account.release_pivot", dict(pivot_hours=0.0, pivot_share=0.5), 0.0, 1.0),
    ("account.release_pivot", dict(pivot_hours=24.0, pivot_share=0.5), 24.0, 1.0),
    ("account.release_pivot", dict(pivot_hours=24.1, pivot_share=0.9), 24.1, 0.0),
    ("account.release_pivot", dict(pivot_hours=-1.0, pivot_share=0.9), -1.0, 0.0),
    ("account.release_pivot", dict(pivot_hours=10.0, pivot_share=0.49), 10.0, 0.0),
    ("account.release_pivot", dict(pivot_hours=10.0, pivot_share=0.9, n_requests=4), 10.0, 0.0),
    ("account.release_pivot", dict(pivot_hours=10.0, pivot_share=0.9, n_requests=5), 10.0, 1.0),
    ("account.release_pivot", dict(pivot_hours=NAN, pivot_share=NAN), NAN, 0.0),
    # partner_template: any template_hmac match scores 1; value = matching requests
    ("account.partner_template", dict(partner_kinds=["template_hmac", "ipv4"], partner_requests=12), 12.0, 1.0),
    ("account.partner_template", dict(partner_kinds=["ipv4"], partner_requests=3), 0.0, 0.0),
    ("account.partner_template", {}, 0.0, 0.0),
    # partner_infrastructure: IP or network 0.8; AS or user agent alone 0 (not evidence); value = kinds matched
    ("account.partner_infrastructure", dict(partner_kinds=["ipv4", "asn"]), 2.0, 0.8),
    ("account.partner_infrastructure", dict(partner_kinds=["cidr"]), 1.0, 0.8),
    ("account.partner_infrastructure", dict(partner_kinds=["asn", "user_agent"]), 2.0, 0.0),
    ("account.partner_infrastructure", dict(partner_kinds=["template_hmac"]), 0.0, 0.0),
    ("account.partner_infrastructure", {}, 0.0, 0.0),
]


def _case_id(c):
    return c[0].split(".")[1] + ":" + ",".join(f"{k}={v}" for k, v in c[1].items() if k != "first_seen") + (
        ":jul" if c[1].get("first_seen") is JUL else "")


@pytest.mark.parametrize("sid, row, value, score", CASES, ids=[_case_id(c) for c in CASES])
def test_compute(sid, row, value, score):
    v, s = run(sid, row)
    assert same(v, value), f"value {v} != {value}"
    assert s == pytest.approx(score, abs=1e-9)


def test_every_account_signal_has_cases():
    account_ids = {sid for sid, cls in SIGNALS.items() if cls.scope == "account"}
    assert account_ids == {c[0] for c in CASES}


@pytest.mark.parametrize("sid", sorted(sid for sid, c in SIGNALS.items() if c.scope == "account"))
def test_neutral_row_scores_zero_and_rows_stay_aligned(sid):
    """Scores follow the frame's own index (not positions): rows are shuffled with a non-default index."""
    top = max((c for c in CASES if c[0] == sid), key=lambda c: c[3])
    df = frame([{}, top[1], {}], index=[30, 10, 20])
    value, score = SIGNALS[sid]().compute(df)
    assert list(score.index) == [30, 10, 20]
    assert len(value) == 3
    assert top[3] > 0 and score.loc[10] == pytest.approx(top[3])
    assert score.loc[30] == 0.0 and score.loc[20] == 0.0


# (signal id, row overrides, value passed to explain, substrings the sentence must contain)
EXPLAIN_CASES = [
    ("account.window_mmd", dict(mmd_windows=10, mmd_rejected=3, mmd_window_size=32, mmd_ref_size=512,
                                mmd_max=0.0412, mmd_max_threshold=0.0123), 0.3,
     ["3 of 10 windows of 32", "512-request", "0.0412", "0.0123", "0.3 %"]),
    ("account.topic_coverage", dict(coverage_n=128, coverage_cells=60, coverage_k=64, coverage_expected=51.2,
                                    coverage_sd=2.1), 4.19, ["128", "60 of 64", "51.2", "2.1", "+4.2"]),
    ("account.extraction_substream", dict(n_requests=2000), 150.0, ["150 of 2,000", "90 %", "10", "50"]),
    ("account.cot_harvest", dict(n_requests=50), 0.4, ["40%", "50", "20%", "60%"]),
    ("account.capability_concentration", dict(top_capability="coding", top_capability_share=0.7), 0.8,
     ["80%", "coding", "70%", "60%", "95%"]),
    ("account.rubric_harvest", {}, 0.3, ["30%", "20%", "60%"]),
    ("account.template_reuse", dict(top_template="t_0123456789ab"), 0.55, ["55%", "t_0123456789ab", "30%", "80%"]),
    ("account.output_harvest", dict(mean_max_tokens=8192.0, single_turn_share=0.9), 0.6, ["60%", "8,192", "90%"]),
    ("account.output_harvest", dict(mean_max_tokens=NAN, single_turn_share=0.9), 0.6, ["60%", "n/a", "90%"]),
    ("account.round_the_clock", dict(active_days=5), 20.0, ["20 of 24", "5 days"]),
    ("account.regular_cadence", {}, 0.42, ["0.42"]),
    ("account.timezone_mismatch", dict(inferred_utc_offset=1, top_ip_country="JP", billing_country="JP"), 8.0,
     ["UTC+1", "JP", "8 h"]),
    ("account.timezone_mismatch", dict(inferred_utc_offset=-5, top_ip_country="JP", billing_country="DE"), 6.0,
     ["UTC-5", "JP", "DE", "6 h"]),
    ("account.ip_churn", dict(n_prefixes=11, n_requests=20, n_asns=7), 0.55, ["11", "20", "7 ASNs", "0.55"]),
    ("account.anonymising_egress", dict(anon_share=0.3, hosting_share=0.6), 0.6, ["30%", "60%"]),
    ("account.fresh_account", {}, 5.0, ["5.0 h"]),
    ("account.release_pivot", dict(pivot_model="aurora-3-pro", pivot_share=0.8), 6.5, ["aurora-3-pro", "6.5 h", "80%"]),
    ("account.partner_template", dict(partner_kinds=["template_hmac"]), 12.0, ["12 requests", "partner"]),
    ("account.partner_infrastructure", dict(partner_kinds=["ipv4", "asn", "template_hmac"]), 2.0, ["asn, ipv4"]),
]


@pytest.mark.parametrize("sid, row, value, parts", EXPLAIN_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(EXPLAIN_CASES)])
def test_explain(sid, row, value, parts):
    text = SIGNALS[sid]().explain(frame([row]).iloc[0], value)
    assert isinstance(text, str) and text
    for p in parts:
        assert p in text, f"{p!r} not in {text!r}"
    assert "nan" not in text.lower().replace("n/a", "")


def test_every_account_signal_has_an_explain_case():
    assert {c[0] for c in EXPLAIN_CASES} == {sid for sid, cls in SIGNALS.items() if cls.scope == "account"}


# ---------------------------------------------------------------------------------------------
# infer_utc_offset / country_utc_offsets
# ---------------------------------------------------------------------------------------------
def utc_hist(local_counts: dict[int, float], offset: int) -> np.ndarray:
    """24-bin UTC histogram from counts per LOCAL hour at UTC ``offset``: utc = (local - offset) mod 24."""
    h = np.zeros(24)
    for local, n in local_counts.items():
        h[(local - offset) % 24] += n
    return h


# awake 07:00-00:59 local, asleep 01:00-06:59: the sleep window fits only one offset
WAKING_DAY = {h: 10 for h in [0, *range(7, 24)]}


@pytest.mark.parametrize("offset", [8, -5, 0, 12, -11, 3])
def test_infer_offset_from_a_waking_day(offset):
    got, share = infer_utc_offset(utc_hist(WAKING_DAY, offset))
    assert got == offset
    assert share == 0.0


@pytest.mark.parametrize("night, expected", [
    (2, (8, 12 / 84)),  # 6 sleep hours x 2 + 18 hours x 4: best share 12/84 < 20 %
    (3, (None, 0.2)),   # 18/90 = 20 %: no sleep gap
])
def test_infer_offset_sleep_share_threshold(night, expected):
    local = {h: (night if 1 <= h <= 6 else 4) for h in range(24)}
    got, share = infer_utc_offset(utc_hist(local, 8))
    assert got == expected[0]
    assert share == pytest.approx(expected[1])


def test_infer_offset_flat_day_is_none():
    got, share = infer_utc_offset(np.full(24, 10.0))
    assert got is None
    assert share == pytest.approx(6 / 24)


@pytest.mark.parametrize("n, expected", [(19, None), (20, 3)])
def test_infer_offset_needs_20_requests(n, expected):
    h = np.zeros(24)
    # one busy UTC hour at noon: offsets -5..+12 (18 of them) keep it outside 01-06 local; the
    # middle of that run (index 8) is +3
    h[12] = n
    got, share = infer_utc_offset(h)
    assert got == expected
    if expected is None:
        assert math.isnan(share)


def test_infer_offset_office_hours_within_the_documented_bias():
    # 09:00-17:59 local at UTC+8: the quiet gap is 18:00-08:59 (15 h, centred 01:30 local); the
    # documented method centres the 01:00-06:59 sleep window (centre 04:00) in it, so the estimate
    # is 2 or 3 h east of the truth (middle of a 10-offset run): +10 or +11.
    got, share = infer_utc_offset(utc_hist({h: 10 for h in range(9, 18)}, 8))
    assert got in (10, 11)
    assert share == 0.0


def test_us_pacific_office_worker_is_not_a_timezone_mismatch():
    # 09:00-17:59 Pacific (UTC-8 in January) with a US IP and US billing: the estimate lands within
    # the US's own offsets (UTC-4 .. UTC-10), so account.timezone_mismatch must score 0.
    from distillwatch.signals.account import TimezoneMismatchSignal

    got, _ = infer_utc_offset(utc_hist({h: 10 for h in range(9, 18)}, -8))
    assert got is not None and -10 <= got <= -4
    df = frame([dict(n_requests=200, inferred_utc_offset=got, top_ip_country="US", billing_country="US",
                     first_seen="2026-01-15T00:00:00Z")])
    _, score = TimezoneMismatchSignal().compute(df)
    assert score.iat[0] == 0.0


@pytest.mark.parametrize("country, when, expected", [
    ("JP", None, [9.0]),
    ("jp", None, [9.0]),
    ("IN", None, [5.5]),
    ("DE", datetime(2026, 1, 15), [1.0]),
    ("DE", datetime(2026, 7, 15), [2.0]),
    ("XX", None, []),
    ("", None, []),
    (None, None, []),
])
def test_country_utc_offsets(country, when, expected):
    assert country_utc_offsets(country, when) == expected


# ---------------------------------------------------------------------------------------------
# pure_template_requests counts asks: agent-loop steps re-send their run's ask (one log, pipeline)
# ---------------------------------------------------------------------------------------------
_ADJ2 = ("red", "quiet", "ancient", "narrow", "golden", "broken", "hidden", "famous", "wooden")
_NOUN2 = ("bridge", "tower", "market", "fountain")
WRAP = ("Explain your reasoning step by step before you answer this question carefully. {q} "
        "Give the final answer on the last line of your reply.")


def test_pure_template_requests_count_asks_not_agent_loop_steps(tmp_path):
    """Regression (issue 3, a new-user trial): a coding agent's runs on one "explain each step" task
    re-send that task on every step; 27 requests from 3 runs made the task an extraction-pure template
    and an extraction sub-stream of 27, which put a legitimate coding-agent account in review.
    Worked out by hand: five harvesters send 5 asks each on one chain-of-thought wrapper (25 asks:
    pure, >= 20); the agent runs one chain-of-thought task 3 times for 12 steps (1 ask + 11
    continuations each): 36 requests but 3 asks, under the 20 asks a template needs to be judged."""
    from helpers import pipeline_features, req, write_jsonl

    qs = [f"What is the story behind the {a} {n} in the old town?" for n in _NOUN2 for a in _ADJ2]
    rows = []
    for h in range(5):
        rows += [req(f"h{h}_{i}", WRAP.format(q=qs[5 * h + i]), account=f"acct_h{h}") for i in range(5)]
    task = {"role": "user", "content": "Explain step by step how the following function sorts the list, and add a "
                                       "comment to each step.\n\ndef f(xs):\n    return sorted(xs, reverse=True)"}
    for run in range(3):
        msgs = [task]
        for step in range(12):
            rows.append(req(f"agent_{run}_{step}", messages=list(msgs), account="acct_agent"))
            msgs = msgs + [{"role": "assistant", "content": f"read_file(src/module_{step}.py)"},
                           {"role": "tool", "content": "(40 lines)"}]
    df, feats, ing = pipeline_features(write_jsonl(tmp_path / "loop.jsonl", rows))
    assert ing.quarantine == []
    assert int(df["is_continuation"].sum()) == 33
    agent = df[df.index.str.startswith("agent_")]
    assert agent["template_id"].nunique() == 1 and agent["template_id"].notna().all() and agent["is_cot"].all()
    f = feats.set_index("account_id")
    assert f["pure_template_requests"].to_dict() == {"acct_agent": 0, **{f"acct_h{h}": 5 for h in range(5)}}
    # the account's own share signals still read every request
    assert f.loc["acct_agent", "n_requests"] == 36 and f.loc["acct_agent", "cot_share"] == 1.0
