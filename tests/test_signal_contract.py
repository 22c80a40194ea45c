"""One contract every registered signal keeps (ids, families, docs, weights, output shapes and ranges)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from distillwatch.schema import FAMILIES
from distillwatch.signals import SIGNALS, SignalHit

from helpers import NAN, account_frame

# A small generic feature frame: neutral, every feature at its suspicious extreme, all NaN,
# and a light account. Campaign members reuse it with a content score.
GENERIC_ROWS = [
    {},
    dict(n_requests=500, active_days=14, cot_share=1.0, hv_share=1.0, top_capability="coding", top_capability_share=1.0,
         rubric_share=1.0, shared_template_share=1.0, top_template="t_0123456789ab", long_output_share=1.0,
         single_turn_share=1.0, mean_max_tokens=8192.0, distinct_hours=24, gap_cv=0.0, inferred_utc_offset=1,
         top_ip_country="JP", billing_country="JP", n_prefixes=500, n_asns=90, anon_share=1.0, hosting_share=1.0,
         age_at_first_use_h=0.0, pivot_hours=3.0, pivot_share=1.0, pivot_model="aurora-3-pro",
         created_at=pd.Timestamp("2026-01-15T10:00:00Z"), content=1.0),
    dict(cot_share=NAN, hv_share=NAN, rubric_share=NAN, shared_template_share=NAN, long_output_share=NAN,
         single_turn_share=NAN, distinct_hours=NAN, gap_cv=NAN, n_prefixes=NAN, anon_share=NAN, hosting_share=NAN,
         age_at_first_use_h=NAN, pivot_hours=NAN, pivot_share=NAN),
    dict(n_requests=1, cot_share=1.0, hv_share=1.0, inferred_utc_offset=3, top_ip_country="JP", billing_country="JP",
         pivot_hours=1.0, pivot_share=1.0, pivot_model="aurora-3-pro", content=0.5,
         created_at=pd.Timestamp("2026-01-14T10:00:00Z")),
]
EDGE_COLUMNS = ["account_id", "kind", "artifact", "n", "df", "weight"]


def _campaign_inputs():
    m = account_frame([{**r, "account_id": f"a{i}"} for i, r in enumerate(GENERIC_ROWS * 2)])
    kinds = ["payment", "signup_ip", "ip_day", "prefix_day", "client_fp", "template", "system_prompt", "lockstep"]
    e = pd.DataFrame([{"account_id": f"a{i}", "kind": k, "artifact": f"{k}-1", "n": 3, "df": 4, "weight": 0.4}
                      for k in kinds for i in (0, 1, 5)], columns=EDGE_COLUMNS)
    return m, e


@pytest.mark.parametrize("sid", sorted(SIGNALS))
def test_signal_contract(sid):
    cls = SIGNALS[sid]
    # id: <scope>.<snake_case>, scope matching the class
    m = re.fullmatch(r"(request|account|campaign)\.([a-z][a-z0-9]*(?:_[a-z0-9]+)*)", sid)
    assert m, f"bad id {sid!r}"
    assert cls.id == sid
    assert m.group(1) == cls.scope
    assert cls.family in FAMILIES
    # own docstring (not inherited); its first line is the description
    doc = cls.__dict__.get("__doc__")
    assert doc and doc.strip()
    first = doc.strip().splitlines()[0].strip()
    assert first
    assert cls.description() == first
    assert isinstance(cls.weight, (int, float)) and 0.0 < cls.weight <= 1.0

    if cls.scope == "request":
        sig = cls()
        # request signals contribute SQL columns, or (prompt templates) are mined after the SQL pass
        cols = sig.columns() if hasattr(sig, "columns") else {}
        assert isinstance(cols, dict)
        assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", c) for c in cols)
    elif cls.scope == "account":
        df = account_frame(GENERIC_ROWS, index=[7, 3, 11, 5])
        value, score = cls().compute(df)
        assert isinstance(value, pd.Series) and isinstance(score, pd.Series)
        assert len(value) == len(df) and len(score) == len(df)
        assert list(score.index) == list(df.index)
        s = score.to_numpy(dtype=float)
        assert np.all(np.isfinite(s)), s
        assert np.all((s >= 0.0) & (s <= 1.0)), s
        assert s[0] == 0.0, "the neutral row must carry no evidence"
        assert s[2] == 0.0, "all-NaN features must carry no evidence"
    else:
        members, edges = _campaign_inputs()
        for e in (edges, edges.iloc[0:0]):
            hit = cls().evaluate(members, e)
            assert hit is None or isinstance(hit, SignalHit)
            if hit is not None:
                assert hit.signal_id == sid and hit.family == cls.family
                assert math.isfinite(hit.score) and 0.0 <= hit.score <= 1.0
                assert isinstance(hit.evidence, str) and hit.evidence


def test_registry_covers_the_three_scopes():
    scopes = {cls.scope for cls in SIGNALS.values()}
    assert scopes == {"request", "account", "campaign"}


def test_signal_reference_doc_is_generated_from_the_registry():
    """docs/signals.md must be the output of `distillwatch signals --markdown` (regenerate it after editing a signal)."""
    from pathlib import Path

    from distillwatch.cli import signals_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "signals.md"
    assert doc.read_text().strip() == signals_markdown().strip()
