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

from distillwatch.linkage.graph import account_codes, artifact_codes, pure_mask
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

    def link_families(self, threshold: float = 0.5) -> list[str]:
        """Evidence families (sorted) of the :data:`LINK_SIGNALS` scoring at least ``threshold``: what
        links the group as a whole, for the dossier's "linked through" sentence. Families of
        artifacts that only a few members share (two of ten with one card) are not among them."""
        return sorted({h.family for h in self.hits if h.signal_id in LINK_SIGNALS and h.score >= threshold})

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
    # all the work below is on integer codes (account, artifact, kind); strings are taken back only
    # for the final groups' own edges. The string frame of every kept edge with its groupby
    # transforms took 18 GB at 16M requests (docs/benchmarks.md)
    acc_all, accts = account_codes(edges["account_id"])
    art_all = artifact_codes(edges)
    kind_all, kinds = pd.factorize(edges["kind"])
    kinds = list(kinds)
    # communities with fewer than min_accounts accounts cannot become groups (members only drop out
    # below), so their edges are left out before any work: most accounts, a small share of the rows
    comm_s = pd.Series(comm)
    size = comm_s.value_counts()
    comm_of = comm_s.reindex(accts)
    big = comm_of.map(size).fillna(0).to_numpy() >= min_accounts
    rows = np.flatnonzero(big[acc_all])
    pure_all = pure_mask(edges)
    e = pd.DataFrame({"row": rows, "acc": acc_all[rows], "art": art_all[rows], "kind": kind_all[rows],
                      "community": comm_of.to_numpy()[acc_all[rows]].astype(np.int64),
                      "df": edges["df"].to_numpy()[rows], "pure": pure_all[rows]})
    del acc_all, art_all, kind_all, pure_all

    def is_kind(col: pd.Series, names: tuple[str, ...]) -> np.ndarray:
        return col.isin([kinds.index(k) for k in names if k in kinds]).to_numpy()

    # keep group-specific artifacts: held by >= 2 members, and mostly by members (exclusivity)
    held = e.groupby(["community", "art"])["acc"].transform("nunique")
    e = e[(held >= 2) & (held / e["df"] >= min_exclusivity)]
    # attachment: a member must hold >= min_member_artifacts group-specific artifacts (one shared
    # popular prompt is a coincidence), then artifacts are re-checked among the remaining members
    # all network artifacts (client IP or /24 on any day, signup IP) count as ONE source: residential
    # proxies exit through real people's home connections, so a household that shares an address
    # with a proxy pool must not be attached by that address alone, however many days it lasts.
    # A source is an artifact code, or one of these negative codes
    NETWORK, CLIENT, TEXT = -1.0, -2.0, -3.0
    src = e["art"].to_numpy(dtype=np.float64).copy()
    src[is_kind(e["kind"], NETWORK_KINDS)] = NETWORK
    # the client fingerprint contains the generation-parameter fingerprint: one fact, one source
    src[is_kind(e["kind"], CLIENT_KINDS)] = CLIENT
    text = is_kind(e["kind"], TEXT_KINDS)
    src[text & ~e["pure"].to_numpy()] = TEXT
    pure = e[e["pure"]]
    # an account whose own traffic is not extraction-like (content < text_min_content) joins only
    # through identity, infrastructure or behaviour: shared prompt text alone is how coincidences
    # look (two users pasting the same popular conversation)
    fi = feats.set_index("account_id")
    own_acc = fi["content"].reindex(accts).fillna(0.0).to_numpy()
    own = own_acc[e["acc"].to_numpy()]
    src[(own < text_min_content) & text] = np.nan
    e = e.assign(source=src)
    # an account whose own traffic shows no extraction (content below text_min_content, the level
    # capability concentration alone cannot reach, and under half of its requests extraction
    # requests) joins only with a shared card among its sources: a popular SDK's default
    # fingerprint plus a residential /24 that a proxy pool also exits through is what an ordinary
    # user next to a campaign looks like
    has_ext = "extraction_share" in fi.columns
    ext_acc = (fi["extraction_share"].reindex(accts).fillna(0.0).to_numpy() if has_ext
               else np.zeros(len(accts)))
    quiet = (own < text_min_content) & (ext_acc[e["acc"].to_numpy()] < 0.5)
    has_card = e.assign(card=is_kind(e["kind"], ("payment",))).groupby(["community", "acc"])["card"].transform("any")
    e = e[~quiet | has_card.to_numpy()]
    while True:  # to a fixed point: dropping a member can leave another with too few sources
        n_before = len(e)
        n_art = e.groupby(["community", "acc"])["source"].transform("nunique")
        e = e[n_art >= min_member_artifacts]
        held = e.groupby(["community", "art"])["acc"].transform("nunique")
        e = e[held >= 2]
        if len(e) == n_before:
            break
    groups = []
    for key, ge in e.groupby("community", sort=True):
        codes = np.unique(ge["acc"].to_numpy())  # sorted codes are sorted account ids
        if len(codes) < min_accounts:
            continue
        accts_g = accts[codes].tolist()
        # the group's own edges, with strings again; exclusivity as evidence: among the final
        # members (accounts dropped by attachment are outsiders)
        ge_edges = _decode(edges.iloc[ge["row"].to_numpy()].drop(columns=["art_code"], errors="ignore")).assign(
            pure=ge["pure"].to_numpy(),
            exclusivity=ge.groupby("art")["acc"].transform("nunique").to_numpy() / ge["df"].to_numpy())
        g = Group(int(key), accts_g, ge_edges)
        members = fi.loc[accts_g].reset_index()
        for sid, cls in SIGNALS.items():
            if cls.scope == "campaign":
                h = cls().evaluate(members, g.edges)
                if h is not None:
                    g.hits.append(h)
        net = g.edges[g.edges["kind"].isin(["ip_day", "prefix_day"])]
        g.software_only = net["account_id"].nunique() < SOFTWARE_ONLY_NETWORK_SHARE * len(accts_g)
        if not pure.empty and has_ext:
            arts = np.unique(ge.loc[ge["pure"], "art"].to_numpy())
            cand = pure[(pure["community"] == key) & ~pure["acc"].isin(codes) & pure["art"].isin(arts)]
            cand_acc = cand["acc"].to_numpy()
            g.weak = set(accts[cand_acc[ext_acc[cand_acc] >= weak_min_extraction]].tolist())
            g.accounts = sorted(set(accts_g) | g.weak)
        groups.append(g)
    return groups


def _decode(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its Categorical columns turned back into plain string columns, index reset."""
    frame = frame.reset_index(drop=True)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("str")
    return frame
