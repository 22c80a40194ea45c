"""Per-request decision: allow, flag, throttle or block.

For each request the scorer (1) computes the request's own signals
(:mod:`distillwatch.realtime.features`), (2) updates and stores its account's streaming counters
and artifacts (:mod:`distillwatch.realtime.state`), and (3) decides from

* the access **policy** (:mod:`distillwatch.realtime.policy`): ``block`` / ``flag`` /
  ``require_verification`` rules;
* the latest **re-link** (the batch pipeline over the stored events,
  :mod:`distillwatch.realtime.relink`): tier ``ban`` -> ``block``, ``review`` -> ``flag``;
* **campaign links** between re-links: the request's client fingerprint, system prompt or
  template sentence is mostly used by members of a re-linked campaign. One such artifact kind
  -> ``flag``; two independent kinds -> ``throttle`` (reason ``realtime.campaign_link``);
* **streaming risk**: the batch account signals computed from the streaming counters with the
  batch constants (ramp end points, ``min_requests`` and weights of the classes in
  :mod:`distillwatch.signals.account`), combined by the batch functions
  (:func:`distillwatch.scoring.risk.noisy_or`, :func:`~distillwatch.scoring.risk.combine_risk`).
  Risk >= ``ScoreParams.review_risk`` -> ``flag``. Streaming alone never blocks: a ban needs the
  linked-campaign evidence that only the re-link computes. As in the batch scan, an account that
  the last re-link put in no campaign is scored on its *own* chain-of-thought:
  :func:`own_streaming_hits` leaves out requests whose CoT elicitation sits only in a system
  prompt sent by at least ``CROWD_PROMPT_MIN_ACCOUNTS`` accounts
  (:func:`distillwatch.scoring.risk.lone_account_hits`), with the prompt's holders counted
  among the accounts seen so far (:meth:`~distillwatch.realtime.state.Store.crowd_cot`);
* the optional **rate window**: more than ``max_per_window`` requests in the sliding window
  -> ``throttle``.

The decision is the most severe of these; ``reasons`` lists every contributor; ``risk`` is the
larger of the re-link and streaming risks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import orjson
import pandas as pd

from distillwatch.realtime.features import RequestFeatures, request_features
from distillwatch.realtime.models import RequestEvent
from distillwatch.realtime.policy import SEVERITY, Policy, Subject, evaluate
from distillwatch.realtime.state import AccountState, Store
from distillwatch.schema import FAMILIES
from distillwatch.scoring.risk import ScoreParams, combine_risk, lone_account_hits, noisy_or
from distillwatch.signals.account import (
    CapabilityConcentrationSignal,
    CotHarvestSignal,
    FreshAccountSignal,
    ReleasePivotSignal,
    RubricHarvestSignal,
    TemplateReuseSignal,
)
from distillwatch.signals.base import SIGNALS, SignalHit, ramp

LINK_KINDS = ("client_fp", "system", "template")
"""Artifact kinds that can link a request to a campaign (client IPs are stored but never link:
sharing an address is not evidence, per the project's method)."""


@dataclass
class AccountMeta:
    """The accounts-file row used at decision time (``None`` when the file lacks the field)."""

    created_ms: Optional[int] = None
    billing_country: Optional[str] = None
    org_id: Optional[str] = None
    email_domain: Optional[str] = None
    verification: str = "none"


def load_side_files(accounts: str | Path | None, releases: str | Path | None) -> tuple[dict, dict]:
    """Read the accounts and releases files with the batch readers (same validation as ``scan``).

    Returns:
        ``(accounts, releases)``: account id -> :class:`AccountMeta`; model -> release time (epoch ms).

    Raises:
        distillwatch.errors.InputError: a file has no valid row (message names the file and problem).
    """
    from distillwatch.engine import get_engine
    from distillwatch.errors import InputError
    from distillwatch.ingest.tables import read_accounts, read_releases

    acc, rel = {}, {}
    if not accounts and not releases:
        return acc, rel
    eng = get_engine("duckdb")
    try:
        for path, reader, what in ((accounts, read_accounts, "account"), (releases, read_releases, "release")):
            if not path:
                continue
            r = reader(eng, path)
            if r.rows_accepted == 0:
                first = r.quarantine[0] if r.quarantine else None
                why = f"line {first['line']}: {first['reason']}" if first else "the file has no rows"
                raise InputError(f"{r.file}: no valid {what} rows ({why})")
        if accounts:
            t = eng.table("SELECT account_id, epoch_ms(created_at) AS created_ms, billing_country, org_id, "
                          "email_domain, verification FROM accounts").to_pylist()
            for row in t:
                acc[row["account_id"]] = AccountMeta(row["created_ms"], row["billing_country"], row["org_id"],
                                                     row["email_domain"], row["verification"] or "none")
        if releases:
            for row in eng.table("SELECT model, epoch_ms(released_at) AS ms FROM releases").to_pylist():
                rel[row["model"]] = row["ms"]
    finally:
        eng.close()
    return acc, rel


def streaming_hits(st: AccountState, meta: Optional[AccountMeta], releases: dict[str, int]) -> list[tuple[str, str, float, float]]:
    """Batch account signals recomputed from streaming counters.

    Returns:
        ``(signal_id, family, score, weight)`` for each signal with a score > 0. Values and gates
        follow the batch classes: content shares need ``min_requests`` content requests; fresh
        account uses hours from ``created_at`` to the first request; release pivot needs the first
        request on a released model 0-24 h after release and >= 50 % of requests on it.
    """
    out = []
    nc = st.n_content
    for cls, k in ((CotHarvestSignal, st.n_cot), (RubricHarvestSignal, st.n_rubric),
                   (CapabilityConcentrationSignal, st.n_hv)):
        if nc >= cls.min_requests:
            s = ramp(k / nc, cls.lo, cls.hi)
            if s > 0:
                out.append((cls.id, cls.family, s, cls.weight))
    if st.n >= TemplateReuseSignal.min_requests:
        s = ramp(st.n_tpl_shared / st.n, TemplateReuseSignal.lo, TemplateReuseSignal.hi)
        if s > 0:
            out.append((TemplateReuseSignal.id, TemplateReuseSignal.family, s, TemplateReuseSignal.weight))
    if meta is not None and meta.created_ms is not None and st.first_ms is not None:
        s = ramp((st.first_ms - meta.created_ms) / 3.6e6, FreshAccountSignal.lo, FreshAccountSignal.hi)
        if s > 0:
            out.append((FreshAccountSignal.id, FreshAccountSignal.family, s, FreshAccountSignal.weight))
    if releases and st.n >= ReleasePivotSignal.min_requests:
        for m, (k, first) in st.models.items():
            rel = releases.get(m)
            if rel is not None and 0 <= (first - rel) / 3.6e6 <= 24 and k / st.n >= 0.5:
                out.append((ReleasePivotSignal.id, ReleasePivotSignal.family, 1.0, ReleasePivotSignal.weight))
                break
    return out


def own_streaming_hits(account_id: str, st: AccountState, hits: list[tuple[str, str, float, float]],
                       crowd: tuple[int, int], with_note: bool = True
                       ) -> tuple[list[tuple[str, str, float, float]], Optional[str]]:
    """:func:`streaming_hits` of an account in no campaign, with crowd system-prompt CoT left out.

    Applies the batch rule itself, :func:`distillwatch.scoring.risk.lone_account_hits` (hence
    :meth:`CotHarvestSignal.compute_own <distillwatch.signals.account.CotHarvestSignal.compute_own>`
    and ``CROWD_PROMPT_MIN_ACCOUNTS``), to a one-row feature frame built from the counters with
    the streaming denominators: ``cot_share = n_cot / n_content``, ``crowd_cot_share =
    crowd_requests / n_content`` and ``n_requests = n_content`` (the gate :func:`streaming_hits`
    uses; a digest-only request has no text and so no system-prompt CoT). The batch scan divides
    both shares by all requests; the two agree when every request has text.

    Args:
        account_id: the account.
        st: its streaming counters.
        hits: its :func:`streaming_hits`.
        crowd: ``(crowd_requests, crowd_prompt_accounts)`` from
            :meth:`~distillwatch.realtime.state.Store.crowd_cot`.
        with_note: False when only the hits are needed (per-request decisions): the batch rule
            (about 1-2 ms of pandas) then runs only when ``hits`` hold ``account.cot_harvest``;
            without it the own share, never above the full one, scores 0 too.

    Returns:
        ``(hits, note)``: ``hits`` with ``account.cot_harvest`` rescored on the own share (or
        removed when that scores 0), and the batch evidence sentence saying what was left out;
        ``(hits, None)`` unchanged when the account has no crowd CoT.
    """
    n_crowd, holders = crowd
    nc = st.n_content
    if n_crowd <= 0 or nc <= 0:
        return hits, None
    if not with_note and not any(h[0] == CotHarvestSignal.id for h in hits):
        return hits, None
    df = pd.DataFrame({"account_id": [account_id], "n_requests": [nc], "cot_share": [st.n_cot / nc],
                       "crowd_cot_share": [n_crowd / nc], "crowd_prompt_accounts": [holders]})
    full = {account_id: [SignalHit(sid, fam, float("nan"), sc, "") for sid, fam, sc, _ in hits]}
    new, note = lone_account_hits(df, full)[account_id]
    return [(h.signal_id, h.family, h.score, SIGNALS[h.signal_id].weight) for h in new], note


def streaming_risk(hits) -> tuple[float, dict[str, float]]:
    """Family noisy-OR and risk (:func:`distillwatch.scoring.risk.combine_risk`) of :func:`streaming_hits`."""
    fam = {f: noisy_or([s * w for _, fa, s, w in hits if fa == f]) for f in FAMILIES}
    return combine_risk(fam, ScoreParams.base), fam


class Scorer:
    """Decision engine over a :class:`~distillwatch.realtime.state.Store` (see module docstring).

    Args:
        store: the durable state.
        policy: access policy (``None`` = no rules).
        accounts, releases: from :func:`load_side_files`.
        intel: an IP-intelligence database (``lookup_one``) for policy country rules, or ``None``.
        max_per_window: throttle above this many requests per account window (``None`` = off).
        params: batch thresholds (``review_risk``).
    """

    def __init__(self, store: Store, policy: Optional[Policy] = None, accounts: Optional[dict] = None,
                 releases: Optional[dict] = None, intel=None, max_per_window: Optional[int] = None,
                 params: Optional[ScoreParams] = None):
        self.store, self.policy = store, policy or Policy()
        self.accounts, self.releases = accounts or {}, releases or {}
        self.max_per_window, self.params = max_per_window, params or ScoreParams()
        self._country = functools.lru_cache(maxsize=65536)(
            lambda ip: intel.lookup_one(ip).get("country") if intel is not None and ip else None)
        self.intel = intel

    # ------------------------------------------------------------------ ingest + decide
    def handle(self, ev: RequestEvent, commit: bool = True) -> tuple[dict, bool]:
        """Store ``ev`` (if new) and decide.

        With ``commit=False`` the event is only staged in the open transaction; the caller must
        call ``store.commit()`` before acknowledging it.

        Returns:
            ``(decision dict, stored)``; ``stored`` is False for a repeated ``request_id`` (its
            counters are not counted twice; the decision is made on the current state).
        """
        f = request_features(ev)
        ts = ev.ts_ms
        st_old = self.store.accounts.get(ev.account_id)
        st = replace(st_old, models=dict(st_old.models), sys_cot=dict(st_old.sys_cot)) if st_old else AccountState()
        arts = self._artifacts(ev, f)
        new_arts = [kv for kv in arts if ev.account_id not in self.store.artifacts.get(kv, frozenset())]
        tpl_shared = any(len(self.store.artifacts.get(kv, frozenset()) - {ev.account_id}) > 0 for kv in arts
                         if kv[0] == "template")
        st.n += 1
        st.n_content += f.has_content
        st.n_cot += f.is_cot
        st.n_rubric += f.is_rubric
        st.n_hv += f.is_hv
        st.n_tpl_shared += tpl_shared
        st.first_ms = ts if st.first_ms is None else min(st.first_ms, ts)
        st.last_ms = ts if st.last_ms is None else max(st.last_ms, ts)
        if f.cot_from_system:
            st.sys_cot[f.system_hash] = st.sys_cot.get(f.system_hash, 0) + 1
        k, first = st.models.get(ev.model, (0, ts))
        st.models[ev.model] = [k + 1, min(first, ts)]
        write = self.store.append if commit else self.store.stage
        stored = write(ev.request_id, ev.account_id, ts, orjson.dumps(ev.contract_row()), st, new_arts)
        return self.decide(ev, f, arts, ts), stored

    def _artifacts(self, ev: RequestEvent, f: RequestFeatures) -> list[tuple[str, str]]:
        arts = [("client_fp", f.client_fp)]
        if f.system_hash:
            arts.append(("system", f.system_hash))
        arts += [("template", k) for k in f.template_keys]
        if ev.client_ip:
            arts.append(("ip", ev.client_ip.strip()))
        return arts

    def decide(self, ev: RequestEvent, f: RequestFeatures, arts, ts: int) -> dict:
        """The decision dict ``{decision, risk, reasons, campaign_id}`` for a stored request."""
        a = ev.account_id
        decision, reasons, campaign = "allow", [], ""
        meta = self.accounts.get(a)

        def bump(d: str) -> None:
            nonlocal decision
            if SEVERITY[d] > SEVERITY[decision]:
                decision = d

        if self.policy.rules:
            subj = Subject(a, ev.model, tuple(o for o in (ev.org_id, meta.org_id if meta else None) if o),
                           meta.email_domain if meta else None, meta.billing_country if meta else None,
                           self._country(ev.client_ip.strip()) if (ev.client_ip and self.policy.needs_ip_country)
                           else None, meta.verification if meta else "none")
            d, r = evaluate(self.policy, subj)
            bump(d)
            reasons += r
        risk = 0.0
        rl = self.store.relinked.get(a)
        if rl:
            risk, campaign = float(rl["risk"] or 0.0), rl["campaign_id"] or ""
            if rl["tier"] == "ban":
                bump("block")
                reasons += ["relink.tier:ban", *filter(None, (rl["reasons"] or "").split(";"))]
            elif rl["tier"] == "review":
                bump("flag")
                reasons += ["relink.tier:review", *filter(None, (rl["reasons"] or "").split(";"))]
        if self.store.artifact_campaign:
            linked: dict[str, set] = {}
            for kv in arts:
                c = self.store.artifact_campaign.get(kv)
                if c and kv[0] in LINK_KINDS:
                    linked.setdefault(c, set()).add(kv[0])
            if linked:
                c, kinds = max(linked.items(), key=lambda t: len(t[1]))
                if not campaign or campaign != c:
                    bump("throttle" if len(kinds) >= 2 else "flag")
                    reasons.append(f"realtime.campaign_link:{c}:{'+'.join(sorted(kinds))}")
                    campaign = campaign or c
        st = self.store.accounts.get(a)
        if st is not None:
            hits, _ = self._streaming(a, st, meta, with_note=False)
            srisk, _ = streaming_risk(hits)
            if srisk >= self.params.review_risk:
                bump("flag")
                reasons += [h[0] for h in sorted(hits, key=lambda h: -h[2] * h[3])]
            risk = max(risk, srisk)
        if self.max_per_window is not None and self.store.window_count(a, ts) > self.max_per_window:
            bump("throttle")
            reasons.append("realtime.rate_window")
        return {"decision": decision, "risk": round(risk, 6), "reasons": list(dict.fromkeys(reasons)),
                "campaign_id": campaign}

    def _streaming(self, a: str, st: AccountState, meta: Optional[AccountMeta], with_note: bool = True):
        """``(hits, note)``: :func:`streaming_hits`, through :func:`own_streaming_hits` unless the
        last re-link put ``a`` in a campaign (members keep the full CoT share, as in batch)."""
        hits = streaming_hits(st, meta, self.releases)
        rl = self.store.relinked.get(a)
        if rl and rl.get("campaign_id"):
            return hits, None
        return own_streaming_hits(a, st, hits, self.store.crowd_cot(st), with_note)

    # ------------------------------------------------------------------ account view
    def account_view(self, account_id: str) -> Optional[dict]:
        """State and evidence of one account (``GET /v1/accounts/{id}``), or ``None`` if never seen.

        ``counters`` include ``cot_from_system`` (requests whose CoT sits only in the system
        prompt), ``crowd_cot`` and ``crowd_prompt_accounts`` (:meth:`Store.crowd_cot
        <distillwatch.realtime.state.Store.crowd_cot>`); ``streaming.notes`` holds the batch
        sentence saying what crowd-prompt CoT was left out (:func:`own_streaming_hits`), if any.
        """
        st = self.store.accounts.get(account_id)
        rl = self.store.relinked.get(account_id)
        if st is None and rl is None:
            return None
        meta = self.accounts.get(account_id)
        hits, note = self._streaming(account_id, st, meta) if st else ([], None)
        crowd = self.store.crowd_cot(st) if st else (0, 0)
        srisk, fam = streaming_risk(hits)
        last = st.last_ms if st and st.last_ms is not None else 0
        return {
            "account_id": account_id,
            "requests": st.n if st else 0,
            "requests_in_window": self.store.window_count(account_id, last) if st else 0,
            "window_s": self.store.window_ms // 1000,
            "counters": None if st is None else {
                "content_requests": st.n_content, "cot": st.n_cot, "rubric": st.n_rubric,
                "high_value": st.n_hv, "shared_template": st.n_tpl_shared,
                "cot_from_system": sum(st.sys_cot.values()), "crowd_cot": crowd[0], "crowd_prompt_accounts": crowd[1],
                "first_ms": st.first_ms, "last_ms": st.last_ms,
                "models": {m: {"requests": v[0], "first_ms": v[1]} for m, v in st.models.items()}},
            "streaming": {"risk": round(srisk, 6), "families": {k: round(v, 6) for k, v in fam.items()},
                          "signals": [{"signal_id": h[0], "family": h[1], "score": round(h[2], 6), "weight": h[3]}
                                      for h in hits],
                          "notes": [note] if note else []},
            "relink": None if rl is None else {**rl, "run_id": (self.store.last_relink or {}).get("run_id")},
        }
