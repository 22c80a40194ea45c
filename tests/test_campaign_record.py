"""Campaign-level helpers of the pipeline and the report headline, against hand-worked values."""

from __future__ import annotations

import pandas as pd
import pytest

from distillwatch.pipeline import _operator_offset
from distillwatch.report.render import headline


@pytest.mark.parametrize("offsets, expected", [
    ([6, 6, 7, 5, None], 6),          # 4 with offsets, all within 1 h of 6
    ([6, 6, -3, 10], 6),              # 2 of 4 within 1 h of the mode: exactly half
    ([6, -3, 10, 2, -8], None),       # scattered: all tie, the smallest (-8) is the mode; 1 of 5 near it
    ([12, -11, 12], 12),              # circular: -11 is 1 h from +12
    ([5, 5], None),                   # fewer than 3 offsets
    ([None, None, None], None),
])
def test_operator_offset(offsets, expected):
    s = pd.Series(pd.array(offsets, dtype="Int64"))
    assert _operator_offset(s) == expected


def _camp(**kw):
    base = {"campaign_id": "C0001", "n_accounts": 120, "n_requests": 45000, "first_seen": "2026-04-22T00:00:00Z",
            "last_seen": "2026-06-05T23:00:00Z", "capabilities": {"coding": 0.5, "agentic": 0.3, "general_chat": 0.2},
            "proxy_share": 0.1, "n_client_ips": 40000, "n_asns": 900, "n_ip_countries": 31,
            "top_asns": [{"asn": 7018, "org": "AT&T", "requests": 900, "share": 0.02}]}
    base.update(kw)
    return base


def test_headline_residential():
    assert headline(_camp()) == (
        "120 accounts, 45,000 interactions between 2026-04-22 and 2026-06-05, targeting coding, agentic tool use, "
        "through 40,000 IP addresses in 900 networks (ASNs) across 31 countries, 90% of requests from addresses on "
        "no VPN, Tor, cloud or hosting list (largest network: AS7018 AT&T, 2%).")


def test_headline_proxies_and_small_shares():
    h = headline(_camp(proxy_share=0.97, capabilities={"rubric_grading": 0.93, "maths": 0.05, "coding": 0.02}))
    assert h.endswith("targeting rubric grading, through VPN, Tor, cloud or hosting exits "
                      "(97% of requests; 40,000 addresses in 900 networks).")
