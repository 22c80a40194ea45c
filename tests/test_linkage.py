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


def _two_rings(shared_kind: str, pure: bool, holders_y: int = 2):
    """Two 5-account rings that Leiden keeps apart, joined only by one artifact of ``shared_kind``."""
    rows = []
    for ring, card in (("x", "c1"), ("y", "c2")):
        for i in range(5):
            a = f"{ring}{i}"
            rows += [(a, "payment", card, 1, 5), (a, "template", card + "t", 10, 5)]
    holders = ["x0", "x1"] + [f"y{i}" for i in range(holders_y)]
    rows += [(a, shared_kind, "shared", 3, len(holders)) for a in holders]
    e = _edges(rows)
    e["pure"] = False
    e.loc[e["artifact"] == "shared", "pure"] = pure
    e.loc[e["artifact"] == "shared", "weight"] = 0.05
    return e


def test_communities_holding_one_extraction_pure_artifact_are_merged():
    comm = communities(_two_rings("param_fp", pure=True), LinkParams())
    assert len({comm[f"{r}{i}"] for r in "xy" for i in range(5)}) == 1


def test_a_shared_artifact_that_is_not_extraction_pure_does_not_merge():
    comm = communities(_two_rings("param_fp", pure=False), LinkParams())
    assert comm["x0"] != comm["y0"]


def test_one_stray_holder_does_not_pull_its_community_in():
    # only y0 holds the pure artifact on the y side: a community joins only with >= 2 holders
    comm = communities(_two_rings("param_fp", pure=True, holders_y=1), LinkParams())
    assert comm["x0"] != comm["y1"]


def _artifact_engine(rows):
    """An engine with ``req_features`` and ``template_accounts`` built from (account, template, fp, ext) rows."""
    import pyarrow as pa

    from distillwatch.engine import get_engine

    eng = get_engine("duckdb")
    n = len(rows)
    eng.register("req_features", pa.table({
        "account_id": [r[0] for r in rows], "template_id": [r[1] for r in rows], "system_hash": [None] * n,
        "client_fp": [r[2] for r in rows], "param_fp": [r[2] for r in rows], "client_ip": [None] * n,
        "ip_prefix": [None] * n, "ts": pa.array([0] * n, pa.timestamp("us", tz="UTC")),
        "is_cot": [r[3] for r in rows], "is_rubric": [False] * n, "output_tokens": [100] * n, "max_tokens": [100] * n}))
    eng.run("t", "CREATE TABLE template_accounts AS SELECT template_id, 0.0 AS extraction_share FROM req_features "
                 "WHERE false")
    return eng


def test_hub_pruned_unless_extraction_pure():
    from distillwatch.linkage.graph import build_artifacts

    # 60 accounts share fingerprint "sdk" with ordinary requests; 60 share "harness" with CoT requests
    rows = [(f"b{i}", None, "sdk", False) for i in range(60)] + [(f"e{i}", None, "harness", True) for i in range(60)]
    eng = _artifact_engine(rows)
    try:
        kept = build_artifacts(eng, False, LinkParams(hub_min=50, hub_fraction=0.05))
    finally:
        eng.close()
    # hub limit max(50, 0.05 * 120) = 50 < 60: "sdk" is pruned, "harness" (100 % extraction) is kept
    assert set(kept["artifact"]) == {"harness"}
    assert kept["pure"].all() and len(kept) == 2 * 60  # client_fp and param_fp edges of 60 accounts


def test_a_lone_account_holding_a_pure_artifact_joins():
    # z0 is its own community (no other edge); it holds the pure artifact the x ring holds
    e = _two_rings("param_fp", pure=True, holders_y=0)
    extra = _edges([("z0", "param_fp", "shared", 3, 3)])
    extra["pure"] = True
    extra["weight"] = 0.05
    comm = communities(pd.concat([e, extra], ignore_index=True), LinkParams())
    assert comm["z0"] == comm["x0"] != comm["y0"]


def test_attachment_is_rechecked_until_stable():
    # a cascade three steps deep: "x" holds only "f" (one source) and goes; "f" is then held by "m"
    # alone, so "m" keeps one source ("g") and goes; "g" is then held by "n" alone, and "n" is left
    # with the card only: it must go too
    rows = _ring_rows() + [("n", "payment", "card1", 1, 5), ("n", "template", "g", 3, 2), ("m", "template", "g", 3, 2),
                           ("m", "param_fp", "f", 3, 2), ("x", "param_fp", "f", 3, 2)]
    rows = [(a, k, art, n, 5 if art == "card1" else df) for a, k, art, n, df in rows]
    e = _edges(rows)
    e["pure"] = e["artifact"] == "g"  # a pure template counts as its own source
    comm = {a: 0 for a in RING + ["n", "m", "x"]}
    groups = candidate_groups(comm, e, _feats(RING + ["n", "m", "x"]), min_accounts=3)
    assert groups[0].accounts == RING


def test_an_account_without_extraction_joins_only_through_a_shared_card():
    # "q" and "c" each share the ring's client fingerprint and a /24 on a day with a1: two sources.
    # Neither sends anything extraction-like; only "c", which also shares the ring's card, may join.
    # "k" is the same with content 0.6: capability concentration alone (all coding) is not extraction
    rows = _ring_rows() + [("a1", "prefix_day", "p@d", 3, 4), ("q", "client_fp", "fp1", 4, 7), ("q", "prefix_day", "p@d", 2, 4),
                           ("k", "client_fp", "fp1", 4, 7), ("k", "prefix_day", "p@d", 2, 4),
                           ("c", "client_fp", "fp1", 4, 7), ("c", "payment", "card1", 1, 6)]
    accts = RING + ["q", "k", "c"]
    feats = _feats(accts, content=[1.0] * 4 + [0.0, 0.6, 0.0], extraction_share=[1.0] * 4 + [0.0, 0.0, 0.0])
    groups = candidate_groups({a: 0 for a in accts}, _edges(rows), feats, min_accounts=3)
    assert groups[0].accounts == sorted(RING + ["c"])


def test_same_software_and_prompt_count_as_one_link():
    from distillwatch.linkage.campaigns import Group
    from distillwatch.signals.base import SignalHit

    hits = [SignalHit("campaign.shared_infrastructure", "infrastructure", 0.8, 1.0, ""),
            SignalHit("campaign.shared_template", "behaviour", 1.0, 1.0, "")]
    g = Group(0, ["a", "b"], pd.DataFrame(), hits=hits)
    assert g.n_links() == 2
    g.software_only = True  # fingerprint only, no shared egress: the same SDK with the same prompt
    assert g.n_links() == 1
    g.hits.append(SignalHit("campaign.shared_identity", "identity", 0.6, 1.0, ""))
    assert g.n_links() == 2


def _ordered_like_build_artifacts(df):
    """Rows ordered as build_artifacts returns them: kind, artifact, account; lockstep rows last."""
    return (df.assign(_l=df["kind"] == "lockstep").sort_values(["_l", "kind", "artifact", "account_id"])
            .drop(columns="_l").reset_index(drop=True))


def test_artifact_codes_equal_a_sorted_groupby_in_either_row_order():
    import random

    from distillwatch.linkage.graph import artifact_codes

    rng = random.Random(7)
    kinds = ["template", "ip_day", "client_fp", "lockstep", "payment", "system_prompt"]
    arts = ["a", "b", "Z", "é", "a@2026-04-22", "10.0.0.0/24@2026-04-23", "lockstep:acct9"]
    for trial in range(100):
        rows = [(f"u{rng.randint(0, 9)}", rng.choice(kinds), rng.choice(arts), 1, 2) for _ in range(rng.randint(1, 60))]
        df = _edges(rows)
        if trial % 2:
            df = _ordered_like_build_artifacts(df)
        # expected: rank of each row's (kind, artifact) among the distinct pairs in sorted order
        pairs = sorted(set(zip(df["kind"], df["artifact"])))
        rank = {p: i for i, p in enumerate(pairs)}
        want = [rank[p] for p in zip(df["kind"], df["artifact"])]
        assert artifact_codes(df).tolist() == want


def test_leiden_communities_do_not_depend_on_the_edge_slice_size(monkeypatch):
    import distillwatch.linkage.graph as graph

    rows = []
    for ring, card in (("x", "c1"), ("y", "c2"), ("z", "c3")):
        for i in range(6):
            a = f"{ring}{i}"
            rows += [(a, "payment", card, 1, 6), (a, "client_fp", card + "fp", 10, 6), (a, "template", card + "t", 10, 6)]
    rows += [("x0", "prefix_day", "p@d", 1, 2), ("y0", "prefix_day", "p@d", 1, 2)]
    e = _ordered_like_build_artifacts(_edges(rows))
    whole = communities(e, LinkParams())
    monkeypatch.setattr(graph, "EDGE_SLICE", 5)
    assert communities(e, LinkParams()) == whole
    assert len(set(whole.values())) == 3
    assert {whole[f"x{i}"] for i in range(6)} == {whole["x0"]}


def test_account_codes_equal_a_sorted_factorize_for_categoricals_and_strings():
    import random

    from distillwatch.linkage.graph import account_codes

    rng = random.Random(3)
    for _ in range(50):
        names = [f"u{rng.randint(0, 20)}" for _ in range(rng.randint(1, 40))]
        cats = list(set(names) | {"zz_unused", "a_unused"})
        rng.shuffle(cats)  # categories unsorted, two of them never used
        want = sorted(set(names))
        for s in (pd.Series(pd.Categorical(names, categories=cats)), pd.Series(names)):
            codes, uniq = account_codes(s)
            assert list(uniq) == want
            assert codes.tolist() == [want.index(x) for x in names]


def test_artifact_codes_from_the_engine_numbering_are_renumbered_on_a_row_subset():
    from distillwatch.linkage.graph import artifact_codes

    rows = [("a", "template", "t2", 1, 2), ("b", "template", "t1", 1, 2), ("a", "client_fp", "f", 1, 2),
            ("c", "template", "t2", 1, 2), ("c", "payment", "card", 1, 2)]
    df = _edges(rows)
    pairs = sorted(set(zip(df["kind"], df["artifact"])))  # client_fp/f, payment/card, template/t1, template/t2
    df["art_code"] = [pairs.index(p) for p in zip(df["kind"], df["artifact"])]
    sub = df[df["artifact"] != "card"]  # code 1 is no longer used: 3 -> 2, 2 -> 1
    assert artifact_codes(sub).tolist() == [2, 1, 0, 2]


def test_the_coded_edge_frame_links_exactly_like_its_strings():
    # build_artifacts returns Categoricals and engine numbers; linking on them must give what the
    # same edges as plain strings give: the same communities, groups, members and group edges
    from distillwatch.linkage.graph import build_artifacts

    rows = []
    for ring in ("x", "y"):
        for i in range(6):
            rows += [(f"{ring}{i}", f"t{ring}", f"fp{ring}", True)] * 3
    rows += [(f"b{i}", None, "sdk", False) for i in range(8)] + [("b0", None, "fpx", False)]
    eng = _artifact_engine(rows)
    try:
        kept = build_artifacts(eng, False, LinkParams())
    finally:
        eng.close()
    assert all(isinstance(kept[c].dtype, pd.CategoricalDtype) for c in ("account_id", "kind", "artifact"))
    plain = kept.drop(columns="art_code").astype({"account_id": "str", "kind": "str", "artifact": "str"})
    comm = communities(kept, LinkParams())
    assert comm == communities(plain, LinkParams())
    assert comm["x0"] != comm["y0"] and len({comm[f"x{i}"] for i in range(6)}) == 1
    accts = sorted(comm)
    feats = _feats(accts, content=[0.0 if a.startswith("b") else 1.0 for a in accts],
                   extraction_share=[0.0 if a.startswith("b") else 1.0 for a in accts])
    got = candidate_groups(comm, kept, feats, min_accounts=3)
    want = candidate_groups(comm, plain, feats, min_accounts=3)
    assert [g.accounts for g in got] == [g.accounts for g in want] == [[f"x{i}" for i in range(6)],
                                                                       [f"y{i}" for i in range(6)]]
    for g, w in zip(got, want):
        pd.testing.assert_frame_equal(g.edges, w.edges)
        assert g.weak == w.weak and [h.score for h in g.hits] == [h.score for h in w.hits]


def test_link_families_are_those_of_the_linking_signals_that_fire():
    from distillwatch.linkage.campaigns import Group
    from distillwatch.signals.base import SignalHit

    # two of ten members share a card (an identity edge exists) but the group's identity signal
    # scores 0; the shared template and the creation wave link it; content is not a link
    edges = _edges([("a1", "payment", "card", 1, 2), ("a2", "payment", "card", 1, 2)])
    hits = [SignalHit("campaign.shared_identity", "identity", 0.2, 0.0, ""),
            SignalHit("campaign.shared_infrastructure", "infrastructure", 0.2, 0.0, ""),
            SignalHit("campaign.shared_template", "behaviour", 1.0, 0.9, ""),
            SignalHit("campaign.creation_wave", "identity", 1.0, 0.5, ""),
            SignalHit("campaign.extraction_templates", "content", 1.0, 1.0, "")]
    g = Group(0, [f"a{i}" for i in range(10)], edges, hits=hits)
    assert g.link_families() == ["behaviour", "identity"]
    g.hits = hits[:2] + hits[4:]
    assert g.link_families() == []
