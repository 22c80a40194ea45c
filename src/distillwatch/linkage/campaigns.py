"""Assemble campaigns from linked communities and evaluate the cross-account signals.

A community from :func:`distillwatch.linkage.graph.communities` is a *candidate*. Its members
are the accounts that share at least one kept artifact with another member. Campaign signals
(:mod:`distillwatch.signals.campaign`) are evaluated on it, and :mod:`distillwatch.scoring.risk`
decides whether it is a campaign.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from distillwatch.signals.base import SIGNALS, SignalHit

LINK_SIGNALS = ("campaign.shared_identity", "campaign.shared_infrastructure", "campaign.shared_template",
                "campaign.lockstep", "campaign.creation_wave", "campaign.operator_timezone")
"""Linking signals: a campaign needs at least ``ScoreParams.campaign_min_links`` of them at >= 0.5."""
CONTENT_SIGNALS = ("campaign.extraction_content", "campaign.extraction_templates")
"""A group's content evidence is the stronger of its members' median content and its templates' content."""
NETWORK_KINDS = ("ip_day", "prefix_day", "signup_ip")
"""Artifact kinds that are network addresses; together they count as one source for attachment."""
CLIENT_KINDS = ("client_fp", "param_fp")
"""The client fingerprint includes the generation-parameter fingerprint; together they count as one source."""
SOFTWARE_ONLY_NETWORK_SHARE = 0.3
"""Below this share of members linked by an egress address or /24 on a day, a group's shared
infrastructure is its client software alone (the 0.3 start of ``campaign.shared_infrastructure``'s ramp)."""
TEXT_KINDS = ("template", "system_prompt")
"""Artifact kinds that are prompt text; unless extraction-pure, together they count as one source for
attachment (two users pasting the same popular prompts share several templates, and that is still
one coincidence; a ring's extraction wrappers are each evidence)."""


@dataclass
class Group:
    """A candidate group of linked accounts.

    Attributes:
        key: community number (0 = largest).
        accounts: member account ids, sorted.
        edges: kept edges among members (artifacts held by >= 2 members).
        hits: campaign-signal results.
        is_campaign: set by scoring.
        campaign_id: ``C0001``-style id once it is a campaign.
        weak: members attached by one extraction-pure artifact only (see :func:`candidate_groups`);
            they are in ``accounts`` but campaign signals are evaluated without them, and scoring
            caps them at ``review``.
        software_only: the group's shared infrastructure is its client fingerprint alone (under
            30 % of members share an egress address or /24 on a day); then the shared client
            fingerprint and the shared system prompt or template are one fact, the same software
            with the same prompt, and :meth:`n_links` counts them once.
    """

    key: int
    accounts: list[str]
    edges: pd.DataFrame
    hits: list[SignalHit] = field(default_factory=list)
    weak: set[str] = field(default_factory=set)
    software_only: bool = False
    is_campaign: bool = False
    campaign_id: str | None = None

    def hit(self, signal_id: str) -> SignalHit | None:
        """The hit of ``signal_id``, or None."""
        return next((h for h in self.hits if h.signal_id == signal_id), None)

    def n_links(self, threshold: float = 0.5) -> int:
        """Number of :data:`LINK_SIGNALS` scoring at least ``threshold`` (a software-only group's shared
        fingerprint and shared template count once: a popular SDK with a popular system prompt is
        two views of one choice many unrelated developers make)."""
        hit = {s for s in LINK_SIGNALS if (h := self.hit(s)) is not None and h.score >= threshold}
        if self.software_only and {"campaign.shared_infrastructure", "campaign.shared_template"} <= hit:
            return len(hit) - 1
        return len(hit)

    def content_score(self) -> float:
        """The stronger of the group's :data:`CONTENT_SIGNALS` scores (0 when neither applies)."""
        return max((h.score for s in CONTENT_SIGNALS if (h := self.hit(s)) is not None), default=0.0)


def candidate_groups(comm: dict[str, int], edges: pd.DataFrame, feats: pd.DataFrame, min_accounts: int,
                     min_exclusivity: float = 0.5, min_member_artifacts: int = 2,
                     weak_min_extraction: float = 0.9, text_min_content: float = 0.65) -> list[Group]:
    """Build groups from community membership and evaluate every campaign signal on each.

    An artifact links members only if at least two members hold it and its *exclusivity* (the
    share of all accounts holding it that are members) is >= ``min_exclusivity``: a popular system
    prompt held by thirty unrelated developers does not make five of them a ring.

    Args:
        comm: ``{account_id: community}``.
        edges: all kept account-artifact edges.
        feats: account features with a ``content`` column (own content-family score).
        min_accounts: groups smaller than this are ignored.
        min_exclusivity: see above (0..1).
        min_member_artifacts: a member must hold at least this many group-specific artifacts; all
            network artifacts (client IP or /24 on any day, signup IP) together count as one, so do
            the client and generation-parameter fingerprints, and so do all prompt-text artifacts
            (templates, system prompts) that are not extraction-pure;
            for an account whose own content score is below ``text_min_content`` (0.65: above the
            0.6 that capability concentration alone can give) prompt-text artifacts count as no
            source at all, and such an account with under 50 % extraction requests must share a
            payment fingerprint with the group to join.
        weak_min_extraction: an account of the community that holds fewer sources but holds one of
            the group's extraction-pure artifacts (``pure`` edge column, see
            :func:`distillwatch.linkage.graph.build_artifacts`) and whose own requests are
            extraction requests in at least this share is attached as a *weak* member: one stream
            split over thousands of accounts leaves most of them a single request, which shares
            nothing with the others but the harness fingerprint.
    """
    if not comm:
        return []
    # communities with fewer than min_accounts accounts cannot become groups (members only drop out
    # below), so their edges are left out before any work: most accounts, a small share of the rows
    size = pd.Series(comm).value_counts()
    community = edges["account_id"].map(comm)
    e = edges.assign(community=community)[community.map(size).fillna(0).to_numpy() >= min_accounts]
    e = e.assign(community=e["community"].astype(np.int64))
    # keep group-specific artifacts: held by >= 2 members, and mostly by members (exclusivity)
    held = e.groupby(["community", "kind", "artifact"])["account_id"].transform("nunique")
    e = e.assign(exclusivity=held / e["df"])
    e = e[(held >= 2) & (e["exclusivity"] >= min_exclusivity)]
    # attachment: a member must hold >= min_member_artifacts group-specific artifacts (one shared
    # popular prompt is a coincidence), then artifacts are re-checked among the remaining members
    # all network artifacts (client IP or /24 on any day, signup IP) count as ONE source: residential
    # proxies exit through real people's home connections, so a household that shares an address
    # with a proxy pool must not be attached by that address alone, however many days it lasts
    src = e["artifact"].where(~e["kind"].isin(list(NETWORK_KINDS)), "network")
    # the client fingerprint contains the generation-parameter fingerprint: one fact, one source
    src = src.where(~e["kind"].isin(list(CLIENT_KINDS)), "client")
    e = e.assign(pure=e["pure"].astype("boolean").fillna(False).astype(bool) if "pure" in e.columns else False)
    e = e.assign(source=src.where(~e["kind"].isin(list(TEXT_KINDS)) | e["pure"], "text"))
    pure = e[e["pure"]]
    # an account whose own traffic is not extraction-like (content < text_min_content) joins only
    # through identity, infrastructure or behaviour: shared prompt text alone is how coincidences
    # look (two users pasting the same popular conversation)
    fi = feats.set_index("account_id")
    own = e["account_id"].map(fi["content"]).fillna(0.0)
    e = e.assign(source=e["source"].where(~((own < text_min_content) & e["kind"].isin(list(TEXT_KINDS)))))
    # an account whose own traffic shows no extraction (content below text_min_content, the level
    # capability concentration alone cannot reach, and under half of its requests extraction
    # requests) joins only with a shared card among its sources: a popular SDK's default
    # fingerprint plus a residential /24 that a proxy pool also exits through is what an ordinary
    # user next to a campaign looks like
    has_ext = "extraction_share" in fi.columns
    ext = e["account_id"].map(fi["extraction_share"]).fillna(0.0) if has_ext else 0.0
    quiet = (own < text_min_content) & (ext < 0.5)
    has_card = e.assign(card=e["kind"] == "payment").groupby(["community", "account_id"])["card"].transform("any")
    e = e[~quiet | has_card]
    while True:  # to a fixed point: dropping a member can leave another with too few sources
        n_before = len(e)
        n_art = e.groupby(["community", "account_id"])["source"].transform("nunique")
        e = e[n_art >= min_member_artifacts]
        held = e.groupby(["community", "kind", "artifact"])["account_id"].transform("nunique")
        e = e[held >= 2]
        if len(e) == n_before:
            break
    groups = []
    for key, ge in e.groupby("community", sort=True):
        accts = sorted(ge["account_id"].unique())
        if len(accts) < min_accounts:
            continue
        # exclusivity as evidence: among the final members (accounts dropped by attachment are outsiders)
        ge = ge.assign(exclusivity=ge.groupby(["kind", "artifact"])["account_id"].transform("nunique") / ge["df"])
        g = Group(int(key), accts, ge.drop(columns=["community", "source"]).reset_index(drop=True))
        members = fi.loc[accts].reset_index()
        for sid, cls in SIGNALS.items():
            if cls.scope == "campaign":
                h = cls().evaluate(members, g.edges)
                if h is not None:
                    g.hits.append(h)
        net = g.edges[g.edges["kind"].isin(["ip_day", "prefix_day"])]
        g.software_only = net["account_id"].nunique() < SOFTWARE_ONLY_NETWORK_SHARE * len(accts)
        if not pure.empty and has_ext:
            arts = set(zip(ge.loc[ge["pure"], "kind"], ge.loc[ge["pure"], "artifact"]))
            cand = pure[(pure["community"] == key) & ~pure["account_id"].isin(accts)]
            cand = cand.loc[np.array([(k, a) in arts for k, a in zip(cand["kind"], cand["artifact"])], dtype=bool)]
            share = fi["extraction_share"].reindex(cand["account_id"]).fillna(0.0).to_numpy()
            g.weak = set(cand.loc[share >= weak_min_extraction, "account_id"])
            g.accounts = sorted(set(accts) | g.weak)
        groups.append(g)
    return groups
