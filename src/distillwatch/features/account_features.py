"""Stage 3: per-account features (``acct_features`` table) aggregated from ``req_features``.

All times UTC; durations in seconds or hours as named; token counts in tokens.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from distillwatch.engine.base import Engine
from distillwatch.schema import HIGH_VALUE_CAPABILITIES

SLEEP_HOURS = (1, 2, 3, 4, 5, 6)
"""Local hours assumed asleep when inferring an operator's UTC offset (01:00-06:59)."""
LONG_OUTPUT_TOKENS = 1500
"""A response of at least this many output tokens counts as a long (harvested) output."""
LONG_MAX_TOKENS_NO_USAGE = 4000
EXTRACTION_REQUEST_SQL = ("(is_cot OR is_rubric OR CASE WHEN output_tokens IS NOT NULL THEN output_tokens >= 1500 "
                          "ELSE coalesce(max_tokens, 0) >= 4000 END)")
"""SQL over ``req_features``: the request asks for reasoning traces, rubric grading or a long output."""
"""Where ``output_tokens`` is absent, a request with ``max_tokens`` at least this counts as asking for a long output."""


PURE_TEMPLATE_SHARE = 0.9
"""Share of a template's asks (log-wide; requests that are not ``is_continuation``) that must be
extraction requests for it to count as extraction-pure."""
PURE_TEMPLATE_MIN_REQUESTS = 20
"""Asks a template needs log-wide before its extraction share is trusted."""
CROWD_PROMPT_MIN_ACCOUNTS = 3
"""Accounts that must send one system prompt for its chain-of-thought phrase to count as a crowd's
(an app's or a tutorial's prompt) rather than one account's own ask. Three is the smallest group
that can be a campaign (``ScoreParams.campaign_min_accounts``): when linking finds no campaign
around an account, three or more holders of its prompt are a crowd it is not coordinated with."""


def build_account_features(engine: Engine, has_accounts: bool, has_releases: bool) -> pd.DataFrame:
    """Create ``acct_features`` and return it as a DataFrame (one row per account seen).

    Columns include: ``n_requests, active_days, span_days, req_per_active_day, first_seen,
    last_seen, distinct_hours, gap_cv, n_ips, n_prefixes, n_asns, proxy_share, top_asn,
    top_ip_country, cot_share, hv_share, top_capability, top_capability_share,
    single_turn_share, tool_turn_share, mean_max_tokens, mean_output_tokens, long_output_share,
    n_templates, top_template, top_template_share, shared_template_share, n_client_fps,
    top_client_fp, hour_hist (24 UTC hourly counts), inferred_utc_offset, sleep_share,
    extraction_share`` (share of requests matching ``EXTRACTION_REQUEST_SQL``),
    ``pure_template_requests`` (asks on an extraction-pure template: one with at least
    ``PURE_TEMPLATE_MIN_REQUESTS`` asks log-wide, of which ``PURE_TEMPLATE_SHARE`` or more are
    extraction requests; an ask is a request that is not ``is_continuation``: a step of an agent or
    tool loop re-sends the user message its run started with, so a 24-step run on one "explain each
    step" task is one ask, not 24), ``crowd_cot_share`` (share of the account's requests whose
    chain-of-thought elicitation sits only in a system prompt that at least
    ``CROWD_PROMPT_MIN_ACCOUNTS`` accounts send: ``cot_from_system`` and a popular prompt),
    ``crowd_prompt_accounts`` (the most accounts sending any such prompt of the account),
    ``burst_share`` (the largest share of the account's requests on two consecutive UTC days) plus the
    accounts-file columns (``created_at, verification, payment_fingerprint, billing_country,
    email_domain, signup_ip, acct_org_id``), ``age_at_first_use_h`` and release-pivot columns
    ``pivot_model, pivot_hours, pivot_share``.
    """
    hv = ", ".join(f"'{c}'" for c in HIGH_VALUE_CAPABILITIES)
    HOUR_HIST = "[" + ", ".join(f"count_if(hour(ts) = {h})" for h in range(24)) + "]"  # noqa: N806
    engine.run("account_features", f"""
        CREATE OR REPLACE TABLE template_accounts AS
        SELECT template_id, count(DISTINCT account_id) AS n_accounts, count_if(NOT is_continuation) AS n_requests,
               avg(CASE WHEN NOT is_continuation THEN ({EXTRACTION_REQUEST_SQL})::INT END) AS extraction_share
        FROM req_features WHERE template_id IS NOT NULL GROUP BY template_id""")
    engine.run("account_features", f"""
        CREATE OR REPLACE TABLE acct_features AS
        WITH g AS (
          SELECT account_id, ts_s - lag(ts_s) OVER (PARTITION BY account_id ORDER BY ts_s, request_id) AS gap
          FROM req_features),
        gs AS (
          SELECT account_id, avg(gap) AS gap_mean, stddev_samp(gap) AS gap_sd, count(gap) AS n_gaps
          FROM g WHERE gap IS NOT NULL GROUP BY account_id),
        sysh AS (
          SELECT system_hash, count(DISTINCT account_id) AS sys_accounts
          FROM req_features WHERE system_hash IS NOT NULL GROUP BY system_hash),
        f AS (
          SELECT f.*, coalesce(ta.n_accounts, 0) AS tpl_accounts,
                 coalesce(ta.extraction_share >= {PURE_TEMPLATE_SHARE} AND ta.n_requests >= {PURE_TEMPLATE_MIN_REQUESTS},
                          false) AS on_pure_template,
                 coalesce(f.cot_from_system AND sysh.sys_accounts >= {CROWD_PROMPT_MIN_ACCOUNTS}, false) AS crowd_cot,
                 sysh.sys_accounts
          FROM req_features f LEFT JOIN template_accounts ta USING (template_id) LEFT JOIN sysh USING (system_hash)),
        capc AS (
          SELECT account_id, first(capability ORDER BY n DESC, capability) AS top_capability, max(n) AS top_n
          FROM (SELECT account_id, capability, count(*) AS n FROM req_features GROUP BY ALL) GROUP BY account_id),
        days AS (SELECT account_id, date_trunc('day', ts) AS d, count(*) AS n FROM req_features GROUP BY ALL),
        burst AS (
          SELECT d1.account_id, max(d1.n + coalesce(d2.n, 0)) AS burst_n
          FROM days d1 LEFT JOIN days d2 ON d2.account_id = d1.account_id AND d2.d = d1.d + INTERVAL 1 DAY
          GROUP BY d1.account_id),
        tplc AS (
          SELECT account_id, first(template_id ORDER BY n DESC, template_id) AS top_template, max(n) AS top_n
          FROM (SELECT account_id, template_id, count(*) AS n FROM req_features WHERE template_id IS NOT NULL
                GROUP BY ALL) GROUP BY account_id),
        a AS (
          SELECT account_id,
            count(*) AS n_requests,
            count(DISTINCT date_trunc('day', ts)) AS active_days,
            min(ts) AS first_seen, max(ts) AS last_seen,
            (max(ts_s) - min(ts_s)) / 86400.0 AS span_days,
            count(DISTINCT hour(ts)) AS distinct_hours,
            {HOUR_HIST} AS hour_hist,
            count(DISTINCT client_ip) AS n_ips,
            count(DISTINCT ip_prefix) AS n_prefixes,
            count(DISTINCT asn) AS n_asns,
            avg(is_proxy::INT) AS proxy_share,
            mode(asn ORDER BY asn) AS top_asn,
            mode(ip_country ORDER BY ip_country) AS top_ip_country,
            avg(is_cot::INT) AS cot_share,
            avg(crowd_cot::INT) AS crowd_cot_share,
            coalesce(max(CASE WHEN crowd_cot THEN sys_accounts END), 0) AS crowd_prompt_accounts,
            avg((capability IN ({hv}))::INT) AS hv_share,
            avg((n_user_turns <= 1 AND n_assistant_turns = 0)::INT) AS single_turn_share,
            avg((n_tool_turns > 0)::INT) AS tool_turn_share,
            avg(max_tokens) AS mean_max_tokens,
            avg(output_tokens) AS mean_output_tokens,
            avg(CASE WHEN output_tokens IS NOT NULL THEN (output_tokens >= {LONG_OUTPUT_TOKENS})::INT
                     ELSE (coalesce(max_tokens, 0) >= {LONG_MAX_TOKENS_NO_USAGE})::INT END) AS long_output_share,
            avg(is_rubric::INT) AS rubric_share,
            avg(({EXTRACTION_REQUEST_SQL})::INT) AS extraction_share,
            count_if(on_pure_template AND NOT is_continuation) AS pure_template_requests,
            avg(coalesce(proxy_kind IN ('vpn', 'tor'), false)::INT) AS anon_share,
            avg(coalesce(proxy_kind IN ('cloud', 'datacenter'), false)::INT) AS hosting_share,
            count(DISTINCT template_id) AS n_templates,
            avg((tpl_accounts >= 2)::INT) AS shared_template_share,
            count(DISTINCT client_fp) AS n_client_fps,
            mode(client_fp ORDER BY client_fp) AS top_client_fp,
            mode(user_agent ORDER BY user_agent) AS top_user_agent,
            mode(system_hash ORDER BY system_hash) AS top_system_hash,
            mode(org_id ORDER BY org_id) AS top_org_id,
            list(DISTINCT model ORDER BY model) AS models
          FROM f GROUP BY account_id)
        SELECT a.*, a.n_requests / greatest(a.active_days, 1) AS req_per_active_day,
               CASE WHEN gs.n_gaps >= 5 AND gs.gap_mean > 0 THEN gs.gap_sd / gs.gap_mean END AS gap_cv,
               capc.top_capability, capc.top_n / a.n_requests AS top_capability_share,
               tplc.top_template, coalesce(tplc.top_n, 0) / a.n_requests AS top_template_share,
               burst.burst_n / a.n_requests AS burst_share
        FROM a LEFT JOIN gs USING (account_id) LEFT JOIN capc USING (account_id) LEFT JOIN tplc USING (account_id)
        LEFT JOIN burst USING (account_id)""")
    df = engine.table("SELECT * FROM acct_features ORDER BY account_id").to_pandas()
    df = _add_timezone(df)
    if has_accounts:
        acc = engine.table("""SELECT account_id, created_at, verification, payment_fingerprint, billing_country,
                                     email_domain, signup_ip, org_id AS acct_org_id FROM accounts""").to_pandas()
        df = df.merge(acc, on="account_id", how="left")
        df["age_at_first_use_h"] = (df["first_seen"] - df["created_at"]).dt.total_seconds() / 3600.0
    else:
        for c in ("created_at", "verification", "payment_fingerprint", "billing_country", "email_domain",
                  "signup_ip", "acct_org_id"):
            df[c] = None
        df["age_at_first_use_h"] = np.nan
    df = df.merge(_release_pivots(engine) if has_releases else _empty_pivots(), on="account_id", how="left")
    return df


def _empty_pivots() -> pd.DataFrame:
    return pd.DataFrame({"account_id": pd.Series([], dtype=str), "pivot_model": pd.Series([], dtype=str),
                         "pivot_hours": pd.Series([], dtype=float), "pivot_share": pd.Series([], dtype=float)})


def _release_pivots(engine: Engine) -> pd.DataFrame:
    """Per account, the earliest adoption of a released model: hours after release and post-release share."""
    t = engine.table("""
        WITH rel AS (SELECT model, released_at FROM releases),
        post AS (
          SELECT f.account_id, rel.model AS rel_model, rel.released_at,
                 min(CASE WHEN f.model = rel.model THEN f.ts END) AS first_on_model,
                 avg((f.model = rel.model)::INT) AS share_on_model,
                 count(*) AS n_post
          FROM req_features f JOIN rel ON f.ts >= rel.released_at
          GROUP BY f.account_id, rel.model, rel.released_at)
        SELECT account_id, rel_model AS pivot_model,
               epoch(first_on_model - released_at) / 3600.0 AS pivot_hours, share_on_model AS pivot_share
        FROM post WHERE first_on_model IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY first_on_model - released_at) = 1""")
    return t.to_pandas() if t.num_rows else _empty_pivots()


def infer_utc_offset(hour_hist: np.ndarray) -> tuple[int | None, float]:
    """Infer an operator's UTC offset from a 24-bin UTC hour-of-day histogram.

    Method: for each offset ``o`` in [-11, +12], the share of activity falling in local sleep
    hours (:data:`SLEEP_HOURS`, local = (utc + o) mod 24). The offsets reaching the minimum share
    (within 0.5 percentage points) form a circular run when the quiet gap is longer than the sleep
    window; we take the middle of that run, which centres the sleep window in the quiet gap (for a
    single best offset, that offset). Accuracy: exact for people awake 07:00-00:59; for
    office-hours-only use (quiet 18:00-09:00, centred 01:30 rather than 04:00) estimates run about
    2-3 h east of the truth, so the time-zone mismatch signal starts only at 3 h.

    Returns ``(offset_hours, sleep_share)``; offset is ``None`` when fewer than 20 requests or when
    activity is round the clock (even the best offset leaves >= 20 % in sleep hours, i.e. there is
    no sleep gap).
    """
    h = np.asarray(hour_hist, dtype=float)
    total = h.sum()
    if total < 20:
        return None, float("nan")
    offsets = list(range(-11, 13))
    shares = np.array([h[[(s - o) % 24 for s in SLEEP_HOURS]].sum() / total for o in offsets])
    best_share = float(shares.min())
    if best_share >= 0.20:
        return None, best_share
    good = shares <= best_share + 0.005
    # longest circular run of good offsets; its middle element
    k0 = int(np.argmin(good)) if not good.all() else 0  # start scanning just after a bad offset
    runs, cur = [], []
    for step in range(1, 25):
        k = (k0 + step) % 24
        if good[k]:
            cur.append(k)
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    run = max(runs, key=lambda r: (len(r), -min(abs(offsets[k]) for k in r)))
    return offsets[run[(len(run) - 1) // 2]], float(shares[run[(len(run) - 1) // 2]])


def _add_timezone(df: pd.DataFrame) -> pd.DataFrame:
    offs, shares = [], []
    for hist in df["hour_hist"]:
        o, s = infer_utc_offset(np.asarray(hist))
        offs.append(o)
        shares.append(s)
    df["inferred_utc_offset"] = pd.array(offs, dtype="Int64")
    df["sleep_share"] = shares
    return df


def country_utc_offsets(country: str | None, when: datetime | None = None) -> list[float]:
    """UTC offsets (hours) in force in ``country`` (ISO 3166-1 alpha-2) at ``when`` (UTC).

    Source: the IANA time-zone database via ``pytz.country_timezones``. Unknown or empty
    country gives ``[]``.
    """
    if not country or not isinstance(country, str):
        return []
    when = (when or datetime(2026, 1, 1)).replace(tzinfo=None)
    return list(_country_offsets(country.upper(), when.date()))


@lru_cache(maxsize=4096)
def _country_offsets(country: str, day) -> tuple[float, ...]:
    import pytz

    try:
        zones = pytz.country_timezones[country]
    except KeyError:
        return ()
    when = datetime(day.year, day.month, day.day, 12)
    out = set()
    for z in zones:
        off: timedelta = pytz.timezone(z).utcoffset(when)
        out.add(off.total_seconds() / 3600.0)
    return tuple(sorted(out))
