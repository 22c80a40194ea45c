"""A lone one-off burst (an eval run, a batch job) is not flagged on its own evidence; linked, it is."""

from __future__ import annotations

import pytest

from distillwatch.scoring.risk import ScoreParams, tier_for
from helpers import pipeline_features, req, write_jsonl


def _burst_share(tmp_path, day_counts: dict[str, int]) -> float:
    rows, k = [], 0
    for day, n in day_counts.items():
        for i in range(n):
            rows.append(req(f"r{k}", f"question {k}", ts=f"{day}T{(i % 20) + 1:02d}:00:00Z"))
            k += 1
    _, feats, _ = pipeline_features(write_jsonl(tmp_path / "log.jsonl", rows))
    return float(feats.loc[feats["account_id"] == "acct_a", "burst_share"].iloc[0])


@pytest.mark.parametrize("days, share", [
    ({"2026-03-02": 10}, 1.0),                                       # one day
    ({"2026-03-02": 2, "2026-03-03": 18}, 1.0),                      # trial the day before, then the run
    ({"2026-03-02": 5, "2026-03-04": 15}, 0.75),                     # a gap day: the best pair holds 15 of 20
    ({"2026-03-02": 5, "2026-03-03": 5, "2026-03-04": 10}, 0.75),    # (5 + 10) / 20
    ({f"2026-03-{d:02d}": 4 for d in range(2, 12)}, 0.2),            # 10 days of 4: 8 / 40
])
def test_burst_share_is_the_best_two_consecutive_days(tmp_path, days, share):
    assert _burst_share(tmp_path, days) == pytest.approx(share)


FAM = {"content": 1.0, "infrastructure": 1.0, "behaviour": 1.0, "identity": 0.0}


@pytest.mark.parametrize("links, burst, tier", [
    (None, 0.95, "clear"),   # lone burst: not flagged on its own
    (None, 0.89, "ban"),     # lone, spread out, infrastructure and behaviour: the lone-evader rule
    (None, None, "ban"),     # no burst figure known: the rule does not apply
    (3, 0.95, "ban"),        # the same burst inside a campaign is flagged
])
def test_lone_burst_rule(links, burst, tier):
    assert tier_for(1.0, FAM, links, None, ScoreParams(), burst) == tier


@pytest.mark.parametrize("n, links, tier", [
    (19, None, "clear"),   # too few requests to judge a lone account
    (20, None, "ban"),
    (5, 3, "ban"),         # small, but in a campaign
])
def test_lone_accounts_need_enough_requests(n, links, tier):
    assert tier_for(1.0, FAM, links, None, ScoreParams(), 0.5, n) == tier
