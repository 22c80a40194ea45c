"""Per-account signals: each turns columns of ``acct_features`` into a score in [0, 1] with evidence.

Every signal is vectorised over the account table (pandas), so the cost is per account, not per
request. Thresholds are class attributes (the ``ramp`` end points); the evidence sentence states
the measured value and the thresholds. Score 0 means "no evidence", never "proven benign".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from distillwatch.features.account_features import country_utc_offsets
from distillwatch.signals.base import Signal, register


def ramp_series(x: pd.Series, lo: float, hi: float) -> pd.Series:
    """Vectorised :func:`~distillwatch.signals.base.ramp`; NaN gives 0."""
    x = pd.to_numeric(x, errors="coerce").astype(float)
    t = (x - lo) / (hi - lo)
    return t.clip(0.0, 1.0).fillna(0.0)


class AccountSignal(Signal):
    """Base for account signals: implement :meth:`compute` and :meth:`explain`."""

    scope = "account"
    min_requests: int = 10
    """Accounts with fewer requests get score 0 (not enough data)."""

    def compute(self, df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """Return ``(value, score)`` Series aligned with ``df`` (one row per account)."""
        raise NotImplementedError

    def explain(self, row: pd.Series, value: float) -> str:
        """One readable sentence with the measured value and thresholds for ``row``."""
        raise NotImplementedError

    def _enough(self, df: pd.DataFrame) -> pd.Series:
        return (df["n_requests"] >= self.min_requests).astype(float)


@register
class CotHarvestSignal(AccountSignal):
    """Share of an account's requests that elicit chain-of-thought (value: fraction 0..1).

    Score ramps from 0 at 20 % to 1 at 60 % of requests matching ``request.cot_elicitation``.
    Source: reasoning-trace harvesting is a named target in the 2026 distillation disclosures.
    Benign look-alikes: eval harnesses and maths students (hence scored with other families), and
    users of an app whose system prompt says "think step by step": the phrase then rides on every
    request, whatever the user asks.

    For an account that linking attaches to no campaign, :meth:`compute_own` scores the account's
    *own* share instead: ``cot_share - crowd_cot_share``, leaving out requests whose only CoT
    phrase sits in a system prompt sent by at least ``CROWD_PROMPT_MIN_ACCOUNTS`` (3) accounts.
    Such a prompt is a crowd's (an app's, a tutorial's), and linking found no coordination between
    this account and the other holders, so the phrase says nothing about what this account wants.
    A campaign member keeps :meth:`compute`: there linking found the members share much more than
    a prompt (templates, fingerprints, infrastructure, schedules), so a system prompt that carries
    the CoT instruction is the campaign's own harness. Same ramp and gate in both.
    """

    id = "account.cot_harvest"
    family = "content"
    lo, hi = 0.2, 0.6

    def compute(self, df):
        v = df["cot_share"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def compute_own(self, df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """``(value, score)`` on the account's own CoT share, ``cot_share - crowd_cot_share`` (fraction 0..1).

        Used for accounts in no campaign (see the class docstring); a missing ``crowd_cot_share``
        counts as 0 (no system prompt).
        """
        crowd = df["crowd_cot_share"].astype(float).fillna(0.0) if "crowd_cot_share" in df else 0.0
        v = (df["cot_share"].astype(float) - crowd).clip(lower=0.0)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return (f"{value:.0%} of {int(row.n_requests):,} requests ask the model to spell out its reasoning "
                f"(scored from {self.lo:.0%} to {self.hi:.0%})")

    def explain_own(self, row: pd.Series, value: float) -> str:
        """Evidence sentence for :meth:`compute_own`: the own share and the crowd share left out."""
        return (f"{value:.0%} of {int(row.n_requests):,} requests ask the model to spell out its reasoning in the "
                f"user's own words; {row.crowd_cot_share:.0%} more elicit it only through a system prompt that "
                f"{int(row.crowd_prompt_accounts)} accounts send, not counted for an account linked to no "
                f"campaign (scored from {self.lo:.0%} to {self.hi:.0%})")


@register
class CapabilityConcentrationSignal(AccountSignal):
    """Share of requests in the high-value capabilities targeted by distillation (value: fraction 0..1).

    High-value classes: coding, agentic, long_horizon, reasoning, rubric_grading. Score ramps from
    0 at 60 % to 1 at 95 %. Ordinary chat users spread over general chat; harvesters do not.
    Benign look-alikes: developers and coding-agent products (coding-heavy), so weight is 0.6.
    """

    id = "account.capability_concentration"
    family = "content"
    weight = 0.6
    lo, hi = 0.6, 0.95

    def compute(self, df):
        v = df["hv_share"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return (f"{value:.0%} of requests target high-value capabilities, mostly {row.top_capability} "
                f"({row.top_capability_share:.0%}; scored from {self.lo:.0%} to {self.hi:.0%})")


@register
class RubricHarvestSignal(AccountSignal):
    """Share of requests that ask the model to grade against a rubric or act as a reward model (value: fraction).

    Score ramps from 0 at 20 % to 1 at 60 % of requests classed ``rubric_grading``. Rubric and
    reward-model outputs were a named target of the 2026 disclosures.
    """

    id = "account.rubric_harvest"
    family = "content"
    lo, hi = 0.2, 0.6

    def compute(self, df):
        v = df["rubric_share"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return f"{value:.0%} of requests ask for rubric grading (scored from {self.lo:.0%} to {self.hi:.0%})"


@register
class TemplateReuseSignal(AccountSignal):
    """Share of requests built on a prompt template that other accounts also use (value: fraction 0..1).

    Score ramps from 0 at 30 % to 1 at 80 %. A harness spread over many accounts reuses its
    wrappers everywhere. Family ``behaviour`` (coordination), not content: popular prompts recur
    among ordinary users. Weight 0.3: a popular system prompt is shared by many unrelated
    developers, so account-level reuse is weak; linking (which checks who else holds the template)
    does the real work. Benign look-alikes: one organisation's automation over several keys
    (same-org groups are not campaigns) and a shared eval harness.
    """

    id = "account.template_reuse"
    family = "behaviour"
    weight = 0.3
    lo, hi = 0.3, 0.8

    def compute(self, df):
        v = df["shared_template_share"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return (f"{value:.0%} of requests reuse a prompt template shared with other accounts "
                f"(top template {row.top_template}; scored from {self.lo:.0%} to {self.hi:.0%})")


@register
class ExtractionSubstreamSignal(AccountSignal):
    """Extraction sub-stream: how many of an account's asks ride on extraction-pure templates (value: requests).

    A template is extraction-pure when, log-wide, it has at least 20 asks and at least 90 % of
    them ask for reasoning traces, rubric grading or long outputs. An ask is a request that does not
    continue an agent or tool loop (``is_continuation``: its last message is an assistant, tool or
    function message, so it re-sends the user message its run started with): a coding agent's
    24-step run on one "explain each step" task is one ask, not 24. Score ramps from 0 at 10 to 1 at
    50 such asks, whatever share of the account's traffic they are: a relay that mixes 5 %
    extraction into 3,000 ordinary customer requests a month still sends 150 requests on its
    harness's wrappers, while share-based signals are diluted to nothing (issue 3's reseller case;
    CerberusAI, arXiv 2606.03381, on mixing). Benign look-alikes: an eval harness (one templated
    burst; lone bursts are not flagged on their own) and a team's long-form report automation
    (needs corroboration by another family to reach review).
    """

    id = "account.extraction_substream"
    family = "content"
    weight = 0.8
    lo, hi = 10.0, 50.0

    def compute(self, df):
        v = df["pure_template_requests"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return (f"{int(value):,} of {int(row.n_requests):,} requests are new asks on extraction-pure templates "
                f"(>= 90 % of a template's asks request reasoning, grading or long outputs; agent-loop steps "
                f"that re-send an earlier ask are not counted; scored from {self.lo:.0f} to {self.hi:.0f} asks)")


@register
class OutputHarvestSignal(AccountSignal):
    """Output-token harvesting: long outputs requested and received (value: fraction of long responses).

    A response counts as long at >= 1,500 output tokens; where ``output_tokens`` is absent,
    ``max_tokens`` >= 4,000 counts instead. Score ramps from 0 at 30 % to 1 at 80 %, and needs
    mostly single-turn requests (>= 50 %): harvesting asks fresh questions, chat continues threads.
    """

    id = "account.output_harvest"
    family = "content"
    weight = 0.7
    lo, hi = 0.3, 0.8

    def compute(self, df):
        v = df["long_output_share"].astype(float)
        single = (df["single_turn_share"].astype(float) >= 0.5).astype(float)
        return v, ramp_series(v, self.lo, self.hi) * single * self._enough(df)

    def explain(self, row, value):
        mt = row.mean_max_tokens
        mt = f"{mt:,.0f}" if mt == mt and mt is not None else "n/a"
        return (f"{value:.0%} of responses are long (>= 1,500 output tokens; mean max_tokens {mt}) "
                f"and {row.single_turn_share:.0%} of requests are single-turn")


@register
class RoundTheClockSignal(AccountSignal):
    """Round-the-clock activity: distinct UTC hours of day with requests (value: hours 0..24).

    Score ramps from 0 at 16 to 1 at 22 distinct hours, for accounts active on >= 3 days with
    >= 30 requests and no inferable sleep gap. People sleep; harnesses do not. Benign look-alikes:
    CI bots, coding-agent products, enterprise automation (verified accounts are discounted).
    """

    id = "account.round_the_clock"
    family = "behaviour"
    weight = 0.5
    min_requests = 30
    lo, hi = 16, 22

    def compute(self, df):
        v = df["distinct_hours"].astype(float)
        ok = (df["active_days"] >= 3) & df["inferred_utc_offset"].isna()
        return v, ramp_series(v, self.lo, self.hi) * ok.astype(float) * self._enough(df)

    def explain(self, row, value):
        return f"active in {value:.0f} of 24 hours of the day over {row.active_days} days, with no sleep gap"


@register
class RegularCadenceSignal(AccountSignal):
    """Inter-arrival regularity: coefficient of variation of gaps between requests (value: CV, dimensionless).

    Human use is bursty (CV well above 1); a scheduler spacing requests evenly gives a CV near 0.
    Score ramps from 0 at CV 1.0 to 1 at CV 0.3, for accounts with >= 20 requests.
    """

    id = "account.regular_cadence"
    family = "behaviour"
    weight = 0.5
    min_requests = 20
    lo, hi = 1.0, 0.3

    def compute(self, df):
        v = df["gap_cv"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return f"requests arrive at a regular cadence (gap coefficient of variation {value:.2f}; scored from 1.0 down to 0.3)"


@register
class TimezoneMismatchSignal(AccountSignal):
    """Operator time zone inferred from activity hours disagrees with IP geography and billing country (value: hours).

    The UTC offset is inferred from the sleep gap (see ``infer_utc_offset``); the value is the
    smallest circular distance in hours to any offset in force in the account's main IP country
    and in its billing country (IANA tz database via pytz). Score ramps from 0 at 3 h to 1 at 6 h
    and is 0 unless BOTH countries disagree, or when the account has fewer than 50 requests (the
    sleep gap of a light user is too noisy to read). A proxy hides the origin; it does not move
    the operator's night.
    """

    id = "account.timezone_mismatch"
    family = "behaviour"
    weight = 0.6
    min_requests = 50
    lo, hi = 3.0, 6.0

    @staticmethod
    def _distance(offset, country, when) -> float:
        offs = country_utc_offsets(country, when)
        if offset is None or offset is pd.NA or not offs:
            return float("nan")
        return float(min(min(abs(offset - o) % 24, 24 - abs(offset - o) % 24) for o in offs))

    def compute(self, df):
        d_ip, d_bill = [], []
        for off, ipc, bc, first in zip(df["inferred_utc_offset"], df["top_ip_country"], df["billing_country"],
                                       df["first_seen"]):
            off = None if pd.isna(off) else int(off)
            when = first.to_pydatetime().replace(tzinfo=None) if not pd.isna(first) else None
            d_ip.append(self._distance(off, ipc, when))
            d_bill.append(self._distance(off, bc, when))
        d_ip, d_bill = pd.Series(d_ip, index=df.index), pd.Series(d_bill, index=df.index)
        v = pd.concat([d_ip, d_bill], axis=1).min(axis=1, skipna=True)
        both = d_ip.notna() & (d_bill.notna() | df["billing_country"].isna())
        return v, ramp_series(v, self.lo, self.hi) * both.astype(float) * self._enough(df)

    def explain(self, row, value):
        return (f"activity implies UTC{int(row.inferred_utc_offset):+d} but the IP country is {row.top_ip_country} "
                f"and billing country {row.billing_country} (off by {value:.0f} h; scored from {self.lo:.0f} to {self.hi:.0f} h)")


@register
class IpChurnSignal(AccountSignal):
    """IP churn: distinct /24 (IPv6 /48) networks per request (value: ratio 0..1).

    Rotating residential proxies give a fresh network on most requests; a person moves between
    home, office and mobile. Score ramps from 0 at 0.3 to 1 at 0.8 new networks per request.
    """

    id = "account.ip_churn"
    family = "infrastructure"
    lo, hi = 0.3, 0.8

    def compute(self, df):
        v = df["n_prefixes"].astype(float) / df["n_requests"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return (f"{row.n_prefixes} distinct networks in {row.n_requests} requests ({row.n_asns} ASNs; "
                f"{value:.2f} per request, scored from {self.lo} to {self.hi})")


@register
class AnonymisingEgressSignal(AccountSignal):
    """Share of requests from VPN or Tor exits, with hosting/datacenter egress counted at half weight (value: fraction).

    Score ramps from 0 at 30 % to 1 at 90 % of the weighted share. Source lists: X4BNet VPN and
    datacenter ranges, Tor exit list, cloud providers' published ranges. Benign look-alikes:
    server-side apps in the cloud (hence half weight for hosting).
    """

    id = "account.anonymising_egress"
    family = "infrastructure"
    lo, hi = 0.3, 0.9

    def compute(self, df):
        v = df["anon_share"].astype(float) + 0.5 * df["hosting_share"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return (f"{row.anon_share:.0%} of requests from VPN/Tor exits and {row.hosting_share:.0%} from hosting "
                f"or cloud ranges")


@register
class FreshAccountSignal(AccountSignal):
    """Account age at first use (value: hours between ``created_at`` and the first request).

    Score ramps from 0 at 72 h to 1 at 2 h. Disposable accounts are created just before use.
    Weak alone (people also start right after sign-up), so weight 0.3.
    """

    id = "account.fresh_account"
    family = "identity"
    weight = 0.3
    min_requests = 1
    lo, hi = 72.0, 2.0

    def compute(self, df):
        v = df["age_at_first_use_h"].astype(float)
        return v, ramp_series(v, self.lo, self.hi) * self._enough(df)

    def explain(self, row, value):
        return f"first request {value:.1f} h after the account was created"


@register
class ReleasePivotSignal(AccountSignal):
    """Migration to a newly released model within 24 h of its release (value: hours after release).

    Scores 1 when the first request on a model from the releases file comes 0-24 h after its
    ``released_at`` and that model then takes >= 50 % of the account's requests. Source: the
    2026 disclosures report campaigns pivoting to a new model within 24 h. Weight 0.4: early
    adopters do the same; the signal gains weight at campaign level.
    """

    id = "account.release_pivot"
    family = "behaviour"
    weight = 0.4
    min_requests = 5

    def compute(self, df):
        v = df["pivot_hours"].astype(float)
        hit = v.between(0, 24) & (df["pivot_share"].astype(float) >= 0.5)
        return v, hit.astype(float) * self._enough(df)

    def explain(self, row, value):
        return (f"moved to {row.pivot_model} {value:.1f} h after its release; it then carried "
                f"{row.pivot_share:.0%} of the account's requests")


def _partner_kinds(df: pd.DataFrame) -> pd.Series:
    """Each account's list of matched partner-indicator kinds (empty when no indicators were given)."""
    if "partner_kinds" not in df:
        return pd.Series([[] for _ in range(len(df))], index=df.index)
    return df["partner_kinds"].map(lambda k: list(k) if isinstance(k, (list, tuple, np.ndarray)) else [])


@register
class PartnerTemplateSignal(AccountSignal):
    """Requests matching a partner's shared prompt-template fingerprint (value: matching requests).

    Partners share templates as keyed HMAC-SHA256 fingerprints (``distillwatch export stix
    --share-key-file``); ``scan --indicators FILE --share-key-file KEY`` recomputes the
    fingerprint of every local template skeleton with the same key. Any match scores 1: the
    account sends the exact wrapper of a campaign a partner documented. Source: the 2026 practice
    of labs sharing indicators with each other (see ``docs/sharing.md``).
    """

    id = "account.partner_template"
    family = "content"
    min_requests = 1

    def compute(self, df):
        hit = _partner_kinds(df).map(lambda k: "template_hmac" in k)
        v = df["partner_requests"].astype(float) if "partner_requests" in df else pd.Series(0.0, index=df.index)
        return v.where(hit, 0.0), hit.astype(float)

    def explain(self, row, value):
        return f"{value:.0f} requests use a prompt template that a partner shared as a campaign indicator"


@register
class PartnerInfrastructureSignal(AccountSignal):
    """Traffic from client addresses or networks a partner shared as campaign indicators (value: kinds matched).

    An IP address or network match scores 0.8. An AS number or user-agent match alone scores 0:
    hosting ASNs and popular clients are shared by many honest users, so it is recorded in the
    value but is not evidence. Weight 0.6.
    """

    id = "account.partner_infrastructure"
    family = "infrastructure"
    weight = 0.6
    min_requests = 1

    def compute(self, df):
        kinds = _partner_kinds(df)
        strong = kinds.map(lambda k: bool({"ipv4", "ipv6", "cidr"} & set(k)))
        score = strong.astype(float) * 0.8
        v = kinds.map(lambda k: float(len(set(k) - {"template_hmac"})))
        return v, score

    def explain(self, row, value):
        kinds = sorted(set(_partner_kinds(pd.DataFrame([row])).iat[0]) - {"template_hmac"})
        ids = row["partner_ids"] if "partner_ids" in row.index else None
        ids = list(ids)[:3] if isinstance(ids, (list, tuple, np.ndarray)) else []
        return (f"traffic matches partner indicators of kind {', '.join(kinds)}"
                + (f" (indicators {', '.join(map(str, ids))})" if ids else ""))
