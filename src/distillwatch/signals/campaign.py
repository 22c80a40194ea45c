"""Cross-account (campaign) signals, computed over one linked group and applied to its members.

This is the "final cross-collection pass" in pySigma terms: a group of accounts can be a
campaign even when each account alone looks clean. Each signal returns a value, a score in
[0, 1] and an evidence sentence for the group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from distillwatch.signals.base import Signal, SignalHit, ramp, register


class CampaignSignal(Signal):
    """Base for campaign signals: implement :meth:`evaluate`."""

    scope = "campaign"

    def evaluate(self, members: pd.DataFrame, edges: pd.DataFrame) -> SignalHit | None:
        """Score one group.

        Args:
            members: ``acct_features`` rows of the group's accounts plus a ``content`` column (the
                account's own content-family score, 0..1).
            edges: the kept account-artifact edges among the group's accounts (columns
                ``account_id, kind, artifact, n, df, weight``), restricted to artifacts that at
                least two members hold.

        Returns:
            a :class:`SignalHit`, or ``None`` when the signal does not apply.
        """
        raise NotImplementedError

    def hit(self, value: float, score: float, evidence: str, **details) -> SignalHit:
        return SignalHit(self.id, self.family, float(value), float(score), evidence, details)


def _share_linked(members: pd.DataFrame, edges: pd.DataFrame, kinds: tuple[str, ...]) -> tuple[float, pd.DataFrame]:
    e = edges[edges["kind"].isin(kinds)]
    return e["account_id"].nunique() / max(len(members), 1), e


def _top_artifacts(e: pd.DataFrame, k: int = 3) -> str:
    c = e.groupby(["kind", "artifact"])["account_id"].nunique().sort_values(ascending=False).head(k)
    return "; ".join(f"{kind} {art[:40]} ({n} accounts)" for (kind, art), n in c.items())


@register
class ExtractionContentSignal(CampaignSignal):
    """Median of members' own content-family scores: the group's traffic looks like extraction (value: 0..1).

    Score equals the value. This is what separates a harvesting ring from a benign cluster such
    as a campus behind one NAT, which links just as tightly but asks ordinary questions.
    """

    id = "campaign.extraction_content"
    family = "content"

    def evaluate(self, members, edges):
        v = float(np.median(members["content"])) if len(members) else 0.0
        caps = members["top_capability"].value_counts(normalize=True).head(3)
        mix = ", ".join(f"{c} for {s:.0%}" for c, s in caps.items())
        # a share of members, not of requests: the dossier's capability table counts requests
        return self.hit(v, v, f"median content score of members is {v:.2f}; each member's own most frequent "
                              f"capability is {mix} of members")


@register
class ExtractionTemplatesSignal(CampaignSignal):
    """Share of the requests built on the group's own templates that ask for reasoning traces, rubric grading or long outputs (value: fraction).

    Weighted by requests over the templates that link the group. Score is the value times a
    support ramp from 0 at ``MIN_SUPPORT`` to 1 at ``FULL_SUPPORT`` requests on those templates:
    six long answers to one shared prompt say nothing, four hundred do. This sees extraction that
    members mix into ordinary traffic (a reseller relaying its customers' chat alongside a
    harness), which dilutes each account's own content score. Benign look-alike: a class sharing a
    popular "explain step by step" prompt, which also needs two linking signals and a majority of
    extraction requests on its shared templates.
    """

    MIN_SUPPORT = 10
    FULL_SUPPORT = 40

    id = "campaign.extraction_templates"
    family = "content"

    def evaluate(self, members, edges):
        t = edges[(edges["kind"] == "template")]
        if t.empty or "extraction_share" not in t or t["extraction_share"].isna().all():
            return None
        per = t.groupby("artifact").agg(n=("n", "sum"), share=("extraction_share", "first")).dropna()
        if per.empty or per["n"].sum() == 0:
            return None
        v = float((per["n"] * per["share"]).sum() / per["n"].sum())
        score = v * ramp(float(per["n"].sum()), self.MIN_SUPPORT, self.FULL_SUPPORT)
        return self.hit(v, score, f"{v:.0%} of the {int(per['n'].sum()):,} requests on the group's {len(per)} shared "
                              f"templates ask for reasoning traces, rubric grading or long outputs")


@register
class SharedIdentitySignal(CampaignSignal):
    """Share of members linked to another member by a payment fingerprint or signup IP (value: fraction).

    Score ramps from 0 at 20 % to 1 at 60 %. Shared cards across "independent" accounts are the
    classic sign of one operator behind many accounts.
    """

    id = "campaign.shared_identity"
    family = "identity"

    def evaluate(self, members, edges):
        v, e = _share_linked(members, edges, ("payment", "signup_ip"))
        if e.empty:
            return None
        n_cards = e.loc[e["kind"] == "payment", "artifact"].nunique()
        return self.hit(v, ramp(v, 0.2, 0.6),
                        f"{v:.0%} of accounts share a payment fingerprint or signup IP with another member "
                        f"({n_cards} shared payment fingerprint{'' if n_cards == 1 else 's'})", top=_top_artifacts(e))


@register
class SharedInfrastructureSignal(CampaignSignal):
    """Share of members linked by a client IP or /24 on the same UTC day, or by one client fingerprint (value: fraction).

    Score ramps from 0 at 30 % to 1 at 80 %.
    """

    id = "campaign.shared_infrastructure"
    family = "infrastructure"

    def evaluate(self, members, edges):
        v, e = _share_linked(members, edges, ("ip_day", "prefix_day", "client_fp", "param_fp"))
        if e.empty:
            return None
        return self.hit(v, ramp(v, 0.3, 0.8),
                        f"{v:.0%} of accounts share egress addresses on the same day or one client fingerprint: "
                        f"{_top_artifacts(e)}")


@register
class SharedTemplateSignal(CampaignSignal):
    """Share of members linked by a prompt template or system prompt used by other members (value: fraction).

    Score ramps from 0 at 30 % to 1 at 80 %. Family ``behaviour``: sharing a template shows that
    one harness drives the accounts (coordination); it says nothing about whether the asks are
    extraction, which is the content family's job (popular prompts recur among ordinary users).
    """

    id = "campaign.shared_template"
    family = "behaviour"

    def evaluate(self, members, edges):
        v, e = _share_linked(members, edges, ("template", "system_prompt"))
        if e.empty:
            return None
        return self.hit(v, ramp(v, 0.3, 0.8),
                        f"{v:.0%} of accounts send the same prompt templates: {_top_artifacts(e)}")


@register
class LockstepSignal(CampaignSignal):
    """Share of members in a SynchroTrap-style co-activity group with another member (value: fraction).

    Score ramps from 0 at 20 % to 1 at 60 %. Source: Cao et al., "Uncovering Large Groups of
    Active Malicious Accounts in Online Social Networks" (SynchroTrap, CCS 2014).
    """

    id = "campaign.lockstep"
    family = "behaviour"

    def evaluate(self, members, edges):
        v, e = _share_linked(members, edges, ("lockstep",))
        if e.empty:
            return None
        return self.hit(v, ramp(v, 0.2, 0.6), f"{v:.0%} of accounts are active in the same hours (lockstep)")


@register
class CreationWaveSignal(CampaignSignal):
    """Share of members created inside the densest 72-hour window (value: fraction).

    Score ramps from 0 at 30 % to 1 at 80 %, for groups with >= 5 known creation times.
    Accounts made in batches just before a campaign starts are a known pattern of account farms.
    Benign look-alike: a class signing up in the same week (needs extraction content too).
    """

    id = "campaign.creation_wave"
    family = "identity"
    window_h = 72.0

    def evaluate(self, members, edges):
        t = pd.to_datetime(members["created_at"], utc=True).dropna().sort_values()
        if len(t) < 5:
            return None
        s = ((t - t.iloc[0]).dt.total_seconds() / 3600.0).to_numpy()
        j = np.searchsorted(s, s + self.window_h, side="right")
        best = int((j - np.arange(len(s))).max())
        v = best / len(t)
        return self.hit(v, ramp(v, 0.3, 0.8),
                        f"{best} of {len(t)} accounts were created within {self.window_h:.0f} hours of each other")


@register
class CampaignReleasePivotSignal(CampaignSignal):
    """Share of members that moved to a newly released model within 24 h of its release (value: fraction).

    Score ramps from 0 at 30 % to 1 at 70 %. Source: the 2026 disclosures describe campaigns
    pivoting to a new model within 24 h of release.
    """

    id = "campaign.release_pivot"
    family = "behaviour"

    def evaluate(self, members, edges):
        hit = members["pivot_hours"].between(0, 24) & (members["pivot_share"] >= 0.5)
        if not hit.any():
            return None
        v = float(hit.mean())
        model = members.loc[hit, "pivot_model"].mode().iat[0]
        med = float(members.loc[hit, "pivot_hours"].median())
        return self.hit(v, ramp(v, 0.3, 0.7),
                        f"{v:.0%} of accounts moved to {model} within 24 h of its release (median {med:.1f} h)",
                        model=model, median_hours=med)


@register
class OperatorTimezoneSignal(CampaignSignal):
    """Share of members that keep one operator's working hours although their countries' clocks differ (value: fraction).

    Each member's UTC offset is inferred from its sleep gap (``infer_utc_offset``). Members agree
    when their offset is within 1 h of the group's most common offset; an agreement is
    *unexplained* when that offset is more than 2 h from every offset in force in the member's IP
    country and billing country (IANA tz database). Score ramps from 0 at 30 % to 1 at 70 % of
    members with an inferred offset, for groups where at least 3 members have one. Residential
    proxies can move an account's IP to any country, but the people running it still sleep in
    their own time zone. Benign look-alike: a campus, whose agreement is explained by its country.
    """

    id = "campaign.operator_timezone"
    family = "behaviour"

    def evaluate(self, members, edges):
        from distillwatch.features.account_features import country_utc_offsets

        m = members[members["inferred_utc_offset"].notna()]
        if len(m) < 3:
            return None
        offs = m["inferred_utc_offset"].astype(int)
        mode = int(offs.mode().sort_values().iat[0])

        def circ(a: float, b: float) -> float:
            d = abs(a - b) % 24
            return min(d, 24 - d)

        unexplained = 0
        countries = set()
        for off, ipc, bc, first in zip(offs, m["top_ip_country"], m["billing_country"], m["first_seen"]):
            when = first.to_pydatetime().replace(tzinfo=None) if not pd.isna(first) else None
            local = country_utc_offsets(ipc, when) + country_utc_offsets(bc, when)
            countries.update(c for c in (ipc, bc) if isinstance(c, str))
            if circ(off, mode) <= 1 and local and all(circ(mode, o) > 2 for o in local):
                unexplained += 1
        v = unexplained / len(m)
        return self.hit(v, ramp(v, 0.3, 0.7),
                        f"{unexplained} of {len(m)} accounts keep the working hours of UTC{mode:+d} although their IP and "
                        f"billing countries ({len(countries)} countries) keep other clocks", utc_offset=mode)
