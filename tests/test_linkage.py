"""Linking: member attachment, exclusivity, hubs, and the one-tenant rule, on hand-built edges."""

from __future__ import annotations

import pandas as pd

from distillwatch.linkage.campaigns import candidate_groups
from distillwatch.linkage.graph import LinkParams, communities


def _edges(rows):
    df = pd.DataFrame(rows, columns=["account_id", "kind", "artifact", "n", "df"])
    df["support"] = 1.0
    df["weight"] = 1.0
    return df


def _feats(accts, **cols):
    base = {"account_id": accts, "content": [1.0] * len(accts), "top_capability": ["coding"] * len(accts),
            "created_at": [pd.NaT] * len(accts), "pivot_hours": [float("nan")] * len(accts),
            "pivot_share": [float("nan")] * len(accts), "pivot_model": [None] * len(accts),
            "inferred_utc_offset": pd.array([None] * len(accts), dtype="Int64"),
            "top_ip_country": [None] * len(accts), "billing_country": [None] * len(accts),
            "first_seen": pd.to_datetime(["2026-04-22"] * len(accts), utc=True)}
    base.update(cols)
    return pd.DataFrame(base)


RING = ["a1", "a2", "a3", "a4"]


def _ring_rows():
    rows = []
    for a in RING:
        rows += [(a, "payment", "card1", 1, 4), (a, "client_fp", "fp1", 50, 4), (a, "template", "t1", 40, 4)]
    return rows


def test_household_sharing_only_network_artifacts_is_not_attached():
    # "h" shares a signup IP and the same /24 on two days with a1: three network artifacts, one source
    rows = _ring_rows() + [("h", "signup_ip", "9.9.9.9", 1, 2), ("a1", "signup_ip", "9.9.9.9", 1, 2),
                           ("h", "prefix_day", "9.9.9.0/24@d1", 2, 2), ("a1", "prefix_day", "9.9.9.0/24@d1", 3, 2),
                           ("h", "prefix_day", "9.9.9.0/24@d2", 2, 2), ("a1", "prefix_day", "9.9.9.0/24@d2", 3, 2)]
    comm = {a: 0 for a in RING + ["h"]}
    groups = candidate_groups(comm, _edges(rows), _feats(RING + ["h"]), min_accounts=3)
    assert len(groups) == 1
    assert groups[0].accounts == RING


def test_two_non_network_artifacts_attach_a_member():
    rows = _ring_rows() + [("b", "payment", "card1", 1, 5), ("b", "template", "t1", 3, 5)]
    rows = [(a, k, art, n, 5 if art in ("card1", "t1") else df) for a, k, art, n, df in rows]
    comm = {a: 0 for a in RING + ["b"]}
    groups = candidate_groups(comm, _edges(rows), _feats(RING + ["b"]), min_accounts=3)
    assert groups[0].accounts == sorted(RING + ["b"])


def test_artifact_mostly_held_outside_the_group_does_not_link():
    # a popular system prompt held by 30 accounts, 4 of them in this community: exclusivity 4/30 < 0.5
    rows = [(a, "system_prompt", "sp", 20, 30) for a in RING] + [(a, "template", "tp", 20, 30) for a in RING]
    groups = candidate_groups({a: 0 for a in RING}, _edges(rows), _feats(RING), min_accounts=3)
    assert groups == []


def test_leiden_separates_two_rings_joined_by_one_weak_edge():
    rows = []
    for ring, card in (("x", "c1"), ("y", "c2")):
        for i in range(5):
            a = f"{ring}{i}"
            rows += [(a, "payment", card, 1, 5), (a, "client_fp", card + "fp", 10, 5), (a, "template", card + "t", 10, 5)]
    rows.append(("x0", "prefix_day", "p@d", 1, 2))
    rows.append(("y0", "prefix_day", "p@d", 1, 2))
    e = _edges(rows)
    e.loc[e["kind"] == "prefix_day", "weight"] = 0.1
    comm = communities(e, LinkParams())
    assert len({comm[f"x{i}"] for i in range(5)}) == 1
    assert len({comm[f"y{i}"] for i in range(5)}) == 1
    assert comm["x0"] != comm["y0"]


def test_one_tenant_rule():
    from distillwatch.linkage.campaigns import Group
    from distillwatch.pipeline import _one_tenant

    g = Group(0, ["a", "b", "c"], _edges([]))
    fi = pd.DataFrame({"account_id": ["a", "b", "c"], "acct_org_id": ["o1", "o1", None],
                       "top_org_id": [None, None, "o1"],
                       "verification": ["verified_org", "startup", None]}).set_index("account_id")
    assert _one_tenant(g, fi)  # c's org comes from its requests; the org is verified through a
    fi.loc["a", "verification"] = "startup"
    assert not _one_tenant(g, fi)  # an unverified organisation (a reseller) is not exempt
    fi.loc["a", "verification"] = "verified_org"
    fi.loc["c", "top_org_id"] = "o2"
    assert not _one_tenant(g, fi)
    fi.loc["c", "top_org_id"] = None
    assert not _one_tenant(g, fi)  # an account with no org at all is not known to be the same tenant
