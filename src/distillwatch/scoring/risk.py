"""Stage 5: combine signals into account risk, tiers and campaigns, each with its evidence.

Method (explainable by construction):

1. Each signal has a score ``s`` in [0, 1] and a weight ``w``. A family's score is the noisy-OR
   ``F = 1 - prod(1 - w * s)`` over the family's signals: the account's own signals, plus, for a
   campaign member, the campaign's signals.
2. Risk is content evidence corroborated by the other families:
   ``risk = content * (base + (1 - base) * corroboration)`` with ``corroboration`` the noisy-OR
   of the infrastructure, behaviour and identity family scores and ``base = 0.35``. Content
   alone therefore reaches at most 0.35, and sharing an IP, an email domain or an org, or running
   round the clock, gives no risk at all without extraction-like content.
3. Tiers: ``ban`` needs risk >= ``ban_risk``, content >= ``ban_content``, at least
   ``ban_families`` families >= 0.5, an account that is not ``verified_org`` (verified
   organisations go to human review, never to an automatic ban), and either membership of a
   campaign or, for a lone account, infrastructure AND behaviour evidence >= 0.5 each.
   ``review`` needs risk >= ``review_risk``. Everything else is ``clear``. A lone account (in no
   campaign) whose requests fall almost all (``lone_burst_share``, 90 %) on two consecutive UTC
   days is one burst: an eval-harness run, a one-off batch job. It is not flagged on its own
   evidence (issue 3 names both as hard negatives); the same burst linked to other accounts is.
   Nor is a lone account with fewer than ``lone_min_requests`` (20) requests: too little traffic
   to judge one account by (a developer's dozen prompts under a "reason step by step" system
   prompt); small accounts are flagged through the campaigns they link to.
4. A linked group becomes a campaign when it has >= ``campaign_min_accounts`` accounts, its
   ``campaign.extraction_content`` score is >= ``campaign_min_content`` (0.65: above the 0.6
   ceiling of capability concentration alone, so at least one specific extraction signal such as
   CoT elicitation, rubric grading or long-output harvesting must be present), and at least
   ``campaign_min_links`` linking signals (shared identity, shared infrastructure, shared template,
   lockstep, creation wave, operator time zone) score >= 0.5: one shared system prompt is a
   coincidence among developers who copied the same docs; a shared template plus one operator's
   sleeping hours is a ring. A group whose members all belong to one verified organisation is that
   tenant's own accounts, not a campaign (its accounts are still scored one by one); an
   unverified organisation, such as a reseller relaying extraction, gets no exemption. Members of a campaign can be banned only when it has
   >= ``ban_min_links`` linking signals at >= 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from distillwatch.schema import FAMILIES
from distillwatch.signals.base import SIGNALS, SignalHit


@dataclass
class ScoreParams:
    """Thresholds for tiers and campaigns (see module docstring)."""

    ban_risk: float = 0.8
    ban_content: float = 0.6
    ban_families: int = 2
    review_risk: float = 0.6
    base: float = 0.35
    campaign_min_accounts: int = 3
    campaign_min_content: float = 0.65
    campaign_min_links: int = 2
    ban_min_links: int = 2
    min_exclusivity: float = 0.5
    lone_burst_share: float = 0.9
    lone_min_requests: int = 20


def noisy_or(scores: list[float]) -> float:
    """``1 - prod(1 - s)`` for scores in [0, 1]; 0 for an empty list."""
    p = 1.0
    for s in scores:
        p *= 1.0 - min(1.0, max(0.0, s))
    return 1.0 - p


def account_signal_hits(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[SignalHit]]]:
    """Evaluate every registered account signal.

    Returns:
        ``(scores, hits)``: ``scores`` has one column per signal id (weighted score ``w * s``,
        0..1) indexed like ``df``; ``hits`` maps account id to its non-zero :class:`SignalHit` list.
    """
    scores = pd.DataFrame(index=df.index)
    hits: dict[str, list[SignalHit]] = {a: [] for a in df["account_id"]}
    for sid, cls in SIGNALS.items():
        if cls.scope != "account":
            continue
        sig = cls()
        value, score = sig.compute(df)
        scores[sid] = score.astype(float) * cls.weight
        for i in np.nonzero(score.to_numpy() > 0)[0]:
            row = df.iloc[i]
            hits[row["account_id"]].append(SignalHit(sid, cls.family, float(value.iat[i]), float(score.iat[i]),
                                                     sig.explain(row, float(value.iat[i]))))
    return scores, hits


def lone_account_hits(df: pd.DataFrame, hits: dict[str, list[SignalHit]]) -> dict[str, tuple[list[SignalHit], str]]:
    """Own-evidence hits for accounts whose chain-of-thought partly comes from a crowd's system prompt.

    An account that linking attaches to no campaign is scored on its own evidence only, and a
    chain-of-thought phrase in a system prompt that at least three accounts send (an app's or a
    tutorial's "think step by step") is not the account's own ask: ``account.cot_harvest`` is
    rescored on ``cot_share - crowd_cot_share`` (:meth:`CotHarvestSignal.compute_own
    <distillwatch.signals.account.CotHarvestSignal.compute_own>`). Campaign members keep their
    hits from :func:`account_signal_hits` (see that signal's docstring).

    Args:
        df: account features (``account_id, n_requests, cot_share, crowd_cot_share,
            crowd_prompt_accounts``), as given to :func:`account_signal_hits`.
        hits: the hits :func:`account_signal_hits` returned for ``df``.

    Returns:
        For each account with ``crowd_cot_share > 0`` only: ``(hits, note)``, its hit list with
        ``account.cot_harvest`` replaced in place (or removed when its own share scores 0), and one
        evidence sentence saying what was left out. Accounts without crowd CoT are absent (their
        hits do not change).
    """
    out: dict[str, tuple[list[SignalHit], str]] = {}
    if "crowd_cot_share" not in df:
        return out
    sid = "account.cot_harvest"
    cls = SIGNALS[sid]
    sig = cls()
    value, score = sig.compute_own(df)
    crowd = df["crowd_cot_share"].astype(float).fillna(0.0).to_numpy()
    for i in np.nonzero(crowd > 0)[0]:
        row = df.iloc[i]
        a = row["account_id"]
        v, sc = float(value.iat[i]), float(score.iat[i])
        own = SignalHit(sid, cls.family, v, sc, sig.explain_own(row, v)) if sc > 0 else None
        new, placed = [], False
        for h in hits[a]:
            if h.signal_id == sid:
                placed = True
                if own is not None:
                    new.append(own)
            else:
                new.append(h)
        if own is not None and not placed:
            new.append(own)
        note = (f"not counted as this account's own content: {float(crowd[i]):.0%} of its requests elicit "
                f"chain-of-thought only through a system prompt that {int(row['crowd_prompt_accounts'])} accounts "
                f"send (an app's prompt, not the user's ask), and it links to no campaign")
        out[a] = (new, note)
    return out


def family_scores(hits: list[SignalHit]) -> dict[str, float]:
    """Noisy-OR of weighted hit scores per family."""
    out = {}
    for f in FAMILIES:
        out[f] = noisy_or([h.score * SIGNALS[h.signal_id].weight for h in hits if h.family == f])
    return out


def combine_risk(fam: dict[str, float], base: float = 0.35) -> float:
    """Risk in [0, 1] from family scores (see module docstring, step 2)."""
    corroboration = noisy_or([fam.get(f, 0.0) for f in FAMILIES if f != "content"])
    return fam.get("content", 0.0) * (base + (1.0 - base) * corroboration)


def tier_for(risk: float, fam: dict[str, float], campaign_links: int | None, verification: str | None,
             p: ScoreParams, burst_share: float | None = None, n_requests: int | None = None) -> str:
    """Tier ``ban``, ``review`` or ``clear`` (see module docstring, steps 3 and 4).

    Args:
        risk: from :func:`combine_risk`.
        fam: family scores.
        campaign_links: number of linking signals >= 0.5 of the account's campaign, or ``None``
            when the account is in no campaign.
        verification: the account's verification level, if known.
        p: thresholds.
        burst_share: the largest share of the account's requests on two consecutive UTC days.
        n_requests: the account's requests in the log.
    """
    strong = sum(1 for v in fam.values() if v >= 0.5)
    lone_evader = campaign_links is None and fam.get("infrastructure", 0.0) >= 0.5 and fam.get("behaviour", 0.0) >= 0.5
    linked = campaign_links is not None and campaign_links >= p.ban_min_links
    if campaign_links is None and burst_share is not None and burst_share >= p.lone_burst_share:
        return "clear"
    if campaign_links is None and n_requests is not None and n_requests < p.lone_min_requests:
        return "clear"
    if (risk >= p.ban_risk and fam.get("content", 0.0) >= p.ban_content and strong >= p.ban_families
            and (linked or lone_evader) and verification != "verified_org"):
        return "ban"
    if risk >= p.review_risk:
        return "review"
    return "clear"
