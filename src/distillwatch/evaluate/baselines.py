"""Baseline detectors run on the same log as distillwatch, for the evaluation table.

Four per-account baselines, each truth-free, each answering "flag or not", with a 0..1 score and
the number of requests an account had sent when the baseline first fired:

* ``rate_limit``: a per-account daily request cap (:data:`DAILY_LIMIT`, a published free-tier
  figure). Why it fails against distillation: the 2026 disclosures report about 26 requests a
  day per fraudulent account, far under any published daily cap; the campaigns scale by adding
  accounts, not by pushing one account.
* ``prada``: PRADA (Juuti, Szyller, Marchal & Asokan, "PRADA: Protecting Against DNN Model
  Stealing Attacks", IEEE EuroS&P 2019). Per account, the stream of minimum distances of each
  new query to the account's growing set ``G`` of earlier queries; a query joins ``G`` when its
  minimum distance exceeds ``T = mean(D_G) - std(D_G)`` over the distances recorded when members
  joined ``G`` (the paper's threshold rule). The set ``D`` of all minimum distances is tested for
  normality with the Shapiro-Wilk statistic ``W`` (``scipy.stats.shapiro``) once it holds
  :attr:`BaselineParams.prada_min_queries` (100, the paper's minimum) values, then every
  :attr:`BaselineParams.prada_test_every` queries; the account is flagged at the first test with
  ``W < delta``. Adaptations, stated: distances are Euclidean on the request embeddings of
  :mod:`distillwatch.features.embed` (the paper used L2 on input images); the paper kept one ``G``
  per predicted class, and LLM requests have no predicted class, so there is one ``G`` per
  account. ``delta`` (:data:`PRADA_DELTA`) was calibrated on a separate benign tuning set (the
  benign accounts of simulator seed 1, scale 0.2), not taken from the paper, because the paper's
  ``delta`` was chosen for image classifiers.
* ``isolation_forest``: scikit-learn ``IsolationForest`` (Liu, Ting & Zhou, ICDM 2008) on
  per-account behaviour features (:data:`IF_FEATURES`), ``contamination="auto"`` (the paper's
  threshold: anomaly score ``s > 0.5``), 200 trees, ``random_state`` fixed. Requests to first
  flag: the forest is fitted on full-history features, then each account's prefixes of 10, 20,
  40, ... requests (geometric checkpoints) are scored; the first flagged prefix is reported
  (resolution: the checkpoint grid).
* ``mmd_window``: the window MMD test of :mod:`distillwatch.signals.distribution` used alone:
  flagged when any window rejects; first flag at the end of the first rejecting window.

Entry point: :func:`run_baselines`. Summaries against truth: :func:`baseline_metrics`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

DAILY_LIMIT = 1000
"""Requests per UTC day (rate_limit baseline). Source: published free-tier daily caps in 2026:
OpenRouter ``:free`` models, 1,000 requests/day once credits were bought (50/day before), counted
per UTC day; Groq free tier, 1,000 requests/day for llama-3.3-70b-versatile. The disclosed
campaign rate, about 26 requests per account per day, is 38x below it."""

PRADA_DELTA = 0.70
"""Shapiro-Wilk ``W`` below which PRADA flags. Calibrated on a separate benign tuning set: the 20
benign accounts with more than 100 requests (so tested) of simulator seed 1, scale 0.2; the
largest value on a 0.01 grid that flags at most 5 % of them (1 of 20). Their ``W`` spread from
0.34 (a coding agent) through 0.70 (a developer) to 0.98: LLM prompt streams are far from the
image-query streams PRADA's normality assumption was built on. Re-calibrate for another
embedding or population."""

IF_FEATURES = ("n_requests", "req_per_active_day", "distinct_hours", "n_ips", "mean_user_chars",
               "mean_max_tokens", "cot_share", "coding_share", "long_output_share")
"""IsolationForest features per account; a feature whose source column is absent is left out
(the used list is in ``result.attrs["isolation_forest_features"]``). Source columns:
``client_ip``, ``user_chars``, ``max_tokens``, ``is_cot``, ``capability`` (``== 'coding'``),
``output_tokens`` (``>= 1500``, the long-output mark of ``account_features``). Count-like features
are log1p-transformed (isolation splits are uniform between a feature's min and max)."""

BASELINES = ("rate_limit", "prada", "isolation_forest", "mmd_window")
"""Baseline names, in output order."""

RESULT_COLUMNS = ["account_id", "baseline", "score", "flagged", "first_flag_ts", "requests_to_first_flag",
                  "n_requests", "evidence"]


@dataclass(frozen=True)
class BaselineParams:
    """Baseline settings (sources in the module docstring).

    Attributes:
        daily_limit: requests per UTC day for ``rate_limit``.
        prada_delta: Shapiro-Wilk threshold for ``prada``.
        prada_min_queries: distances needed before the first normality test (paper: 100).
        prada_test_every: test again after this many more queries (1 = every query, slow).
        if_trees: IsolationForest trees; ``if_seed``: its random_state.
        if_first_checkpoint: first prefix length scored for requests-to-first-flag (doubling after).
        mmd: :class:`~distillwatch.signals.distribution.DistributionParams` for ``mmd_window``
            (``None`` = defaults).
    """

    daily_limit: int = DAILY_LIMIT
    prada_delta: float = PRADA_DELTA
    prada_min_queries: int = 100
    prada_test_every: int = 10
    if_trees: int = 200
    if_seed: int = 0
    if_first_checkpoint: int = 10
    mmd: object | None = None


def _prepare(requests) -> pd.DataFrame:
    """Validate and sort the request table; adds ``ts_s``, ``day`` and per-account ``rank`` (0-based)."""
    if not isinstance(requests, pd.DataFrame):
        requests = requests.to_pandas()
    for col in ("account_id",):
        if col not in requests.columns:
            raise ValueError(f"run_baselines: requests lack column {col!r} (has {list(requests.columns)})")
    df = requests.copy()
    if "ts" in df.columns:
        ts = pd.to_datetime(df["ts"])
        if ts.dt.tz is None:
            raise ValueError("run_baselines: column 'ts' must be timezone-aware UTC timestamps")
        df["ts"] = ts.dt.tz_convert("UTC")
        if "ts_s" not in df.columns:
            df["ts_s"] = (df["ts"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    elif "ts_s" in df.columns:
        df["ts"] = pd.to_datetime(df["ts_s"], unit="s", utc=True)
    else:
        raise ValueError("run_baselines: requests need 'ts' (UTC timestamps) or 'ts_s' (epoch seconds)")
    bad = df["account_id"].isna() | df["ts"].isna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise ValueError(f"run_baselines: row {i} has no account_id or timestamp")
    df["_row"] = np.arange(len(df))
    keys = ["account_id", "ts_s"] + (["request_id"] if "request_id" in df.columns else []) + ["_row"]
    df = df.sort_values(keys, kind="stable", ignore_index=True)
    df["rank"] = df.groupby("account_id", sort=False).cumcount()
    df["day"] = df["ts"].dt.floor("D")
    return df


def rate_limit_baseline(df: pd.DataFrame, limit: int = DAILY_LIMIT) -> pd.DataFrame:
    """Flag accounts that send more than ``limit`` requests in any UTC day.

    Args:
        df: output of :func:`_prepare` (sorted, with ``day`` and ``rank``).
        limit: requests per UTC day.

    Returns:
        :data:`RESULT_COLUMNS` rows; ``score = min(1, max daily requests / limit)``; the first flag
        is the ``limit + 1``-th request of the first day over the limit, and
        ``requests_to_first_flag`` is that request's 1-based position in the account's history.
    """
    day_n = df.groupby(["account_id", "day"], sort=False).cumcount() + 1
    over = df.loc[day_n.to_numpy() == limit + 1, ["account_id", "rank", "ts"]]
    first = over.groupby("account_id", as_index=False).first()
    first = pd.DataFrame({"account_id": first["account_id"], "first_flag_ts": first["ts"],
                          "requests_to_first_flag": first["rank"] + 1})
    peak = df.groupby(["account_id", "day"]).size().groupby("account_id").max()
    out = pd.DataFrame({"account_id": peak.index, "peak": peak.to_numpy(),
                        "n_requests": df.groupby("account_id").size().reindex(peak.index).to_numpy()})
    out = out.merge(first, on="account_id", how="left")
    out["score"] = np.minimum(1.0, out["peak"] / limit)
    out["flagged"] = out["requests_to_first_flag"].notna()
    out["evidence"] = [f"busiest UTC day {p} requests (limit {limit})" for p in out["peak"]]
    out["baseline"] = "rate_limit"
    return out[RESULT_COLUMNS]


def prada_stream(x: np.ndarray, delta: float = PRADA_DELTA, min_queries: int = 100,
                 test_every: int = 10) -> tuple[float, int | None, int]:
    """PRADA on one account's queries in time order (see module docstring).

    Args:
        x: ``(n, d)`` query embeddings in time order.
        delta: flag when the Shapiro-Wilk ``W`` of the distance set is below this.
        min_queries: distances needed before the first test.
        test_every: queries between tests.

    Returns:
        ``(w_min, first_flag, n_tests)``: the smallest ``W`` over the tests (NaN if none ran), the
        1-based query count at the first failing test (``None`` if never), and the tests run.
    """
    from scipy.stats import shapiro

    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    mind = np.full(n, np.inf)
    dist = np.empty(n)
    nd = 0
    g_n, g_s1, g_s2 = 0, 0.0, 0.0
    w_min, first, tests = np.nan, None, 0

    def join(i: int) -> None:
        if i + 1 < n:
            diff = x[i + 1:] - x[i]
            np.minimum(mind[i + 1:], np.sqrt(np.einsum("ij,ij->i", diff, diff)), out=mind[i + 1:])

    for i in range(n):  # sequential by construction: whether query i joins G depends on G's history
        if g_n == 0:
            join(i)
            g_n = 1
            continue
        dmin = mind[i]
        dist[nd] = dmin
        nd += 1
        if g_n >= 3:  # distances recorded for the members after the first
            mean = g_s1 / (g_n - 1)
            thr = mean - np.sqrt(max(g_s2 / (g_n - 1) - mean * mean, 0.0))
        else:
            thr = -np.inf
        if dmin > thr:
            join(i)
            g_n += 1
            g_s1 += dmin
            g_s2 += dmin * dmin
        if nd >= min_queries and (nd - min_queries) % test_every == 0:
            d = dist[:nd]
            if np.ptp(d) == 0:
                w = 0.0  # a degenerate (constant) distance set is as far from normal as it gets
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    w = float(shapiro(d).statistic)
            tests += 1
            w_min = w if np.isnan(w_min) else min(w_min, w)
            if first is None and w < delta:
                first = i + 1
    return w_min, first, tests


def prada_baseline(df: pd.DataFrame, x: np.ndarray, p: BaselineParams) -> pd.DataFrame:
    """Run :func:`prada_stream` per account (``x`` aligned with the sorted ``df``).

    Returns:
        :data:`RESULT_COLUMNS` rows; ``score = 1 - min W`` (0 when no test ran: fewer than
        ``prada_min_queries + 1`` requests).
    """
    rows = []
    starts = np.flatnonzero(df["rank"].to_numpy() == 0)
    ends = np.append(starts[1:], len(df))
    acc = df["account_id"].to_numpy()
    ts = df["ts"].dt.tz_convert(None).to_numpy()  # naive UTC datetime64
    for s, e in zip(starts, ends):
        if e - s <= p.prada_min_queries:  # no test can run: skip the stream (same result, no work)
            w_min, first, tests = np.nan, None, 0
        else:
            w_min, first, tests = prada_stream(x[s:e], p.prada_delta, p.prada_min_queries, p.prada_test_every)
        rows.append({"account_id": acc[s], "baseline": "prada", "n_requests": int(e - s),
                     "score": 0.0 if np.isnan(w_min) else float(min(1.0, max(0.0, 1.0 - w_min))),
                     "flagged": first is not None,
                     "first_flag_ts": pd.Timestamp(ts[s + first - 1], tz="UTC") if first else pd.NaT,
                     "requests_to_first_flag": first,
                     "evidence": (f"{tests} Shapiro-Wilk tests, min W {w_min:.3f} (delta {p.prada_delta})"
                                  if tests else f"fewer than {p.prada_min_queries + 1} requests: not tested")})
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def account_behaviour_features(df: pd.DataFrame) -> pd.DataFrame:
    """Per-account :data:`IF_FEATURES` (those whose source columns exist) from request rows.

    Args:
        df: request rows (any subset, e.g. a prefix) with ``account_id, ts, day`` and optional
            source columns.

    Returns:
        One row per account, indexed by ``account_id``; NaN where an account has no value.
    """
    g = df.groupby("account_id", sort=True)
    f = pd.DataFrame({"n_requests": g.size()})
    f["req_per_active_day"] = f["n_requests"] / g["day"].nunique()
    f["distinct_hours"] = df.assign(_h=df["ts"].dt.hour).groupby("account_id")["_h"].nunique()
    if "client_ip" in df.columns:
        f["n_ips"] = g["client_ip"].nunique()
    if "user_chars" in df.columns:
        f["mean_user_chars"] = g["user_chars"].mean()
    if "max_tokens" in df.columns:
        f["mean_max_tokens"] = pd.to_numeric(df["max_tokens"], errors="coerce").groupby(df["account_id"]).mean()
    if "is_cot" in df.columns:
        f["cot_share"] = df["is_cot"].astype("float").groupby(df["account_id"]).mean()
    if "capability" in df.columns:
        f["coding_share"] = (df["capability"] == "coding").astype(float).groupby(df["account_id"]).mean()
    if "output_tokens" in df.columns:
        ot = pd.to_numeric(df["output_tokens"], errors="coerce")
        f["long_output_share"] = (ot >= 1500).astype(float).where(ot.notna()).groupby(df["account_id"]).mean()
    return f


_LOG_FEATURES = ("n_requests", "req_per_active_day", "n_ips", "mean_user_chars", "mean_max_tokens")


def _if_matrix(f: pd.DataFrame, fill: pd.Series) -> np.ndarray:
    m = f.copy()
    for c in _LOG_FEATURES:
        if c in m:
            m[c] = np.log1p(m[c].astype(float))
    return m.astype(float).fillna(fill).to_numpy()


def isolation_forest_baseline(df: pd.DataFrame, p: BaselineParams) -> pd.DataFrame:
    """IsolationForest on :func:`account_behaviour_features`, with prefix replay for the first flag.

    NaN feature values are filled with that feature's median over accounts (0 when all NaN).

    Returns:
        :data:`RESULT_COLUMNS` rows; ``score`` is the anomaly score ``s`` of Liu et al. 2008
        (``-score_samples``, in (0, 1]); flagged when ``s > 0.5``. ``attrs["features"]`` lists
        the features used.
    """
    from sklearn.ensemble import IsolationForest

    full = account_behaviour_features(df)
    feats = list(full.columns)
    log_full = full.copy()
    for c in _LOG_FEATURES:
        if c in log_full:
            log_full[c] = np.log1p(log_full[c].astype(float))
    fill = log_full.astype(float).median().fillna(0.0)
    forest = IsolationForest(n_estimators=p.if_trees, contamination="auto", random_state=p.if_seed)
    forest.fit(_if_matrix(full, fill))
    s_full = -forest.score_samples(_if_matrix(full, fill))
    n = full["n_requests"].to_numpy()
    first = pd.Series(np.nan, index=full.index)
    longer = pd.Series(n, index=full.index)
    c = p.if_first_checkpoint
    while c < n.max():
        live = longer.index[longer.to_numpy() > c]  # accounts with more than c requests in all
        fp = account_behaviour_features(df[(df["rank"] < c) & df["account_id"].isin(live)])
        if len(fp):
            hit = fp.index[-forest.score_samples(_if_matrix(fp, fill)) > 0.5]
            hit = hit[first.loc[hit].isna().to_numpy()]
            first.loc[hit] = c
        c *= 2
    flagged = s_full > 0.5
    # flagged on the full history: first flagged prefix, else the full history; otherwise no flag
    # (a prefix that looked odd but a full history that does not is not a flag)
    first = first.fillna(longer.astype(float)).where(flagged)
    idx = df.groupby("account_id").indices
    ts = df["ts"].dt.tz_convert(None).to_numpy()  # naive UTC datetime64
    fts = [pd.Timestamp(ts[idx[a][int(k) - 1]], tz="UTC") if k == k else pd.NaT for a, k in first.items()]
    out = pd.DataFrame({"account_id": full.index, "baseline": "isolation_forest", "score": s_full,
                        "flagged": flagged, "first_flag_ts": fts,
                        "requests_to_first_flag": first.to_numpy(), "n_requests": n,
                        "evidence": [f"isolation score {s:.3f} (flag above 0.5) on {len(feats)} features"
                                     for s in s_full]})
    out.attrs["features"] = feats
    return out[RESULT_COLUMNS]


def mmd_window_baseline(df: pd.DataFrame, x: np.ndarray, p: BaselineParams) -> pd.DataFrame:
    """The window MMD test alone: flag an account when any of its windows rejects.

    Returns:
        :data:`RESULT_COLUMNS` rows; ``score`` = share of windows rejected (0 when untested);
        ``requests_to_first_flag`` = the end of the first rejecting window (1-based count).
    """
    from distillwatch.signals.distribution import DistributionParams, fit_reference, window_mmd

    dp = p.mmd or DistributionParams()
    counts = df.groupby("account_id", sort=True).size()
    out = pd.DataFrame({"account_id": counts.index, "n_requests": counts.to_numpy()})
    try:
        ref = fit_reference(x, dp, topics=False)
    except ValueError as exc:
        out = out.assign(baseline="mmd_window", score=0.0, flagged=False, first_flag_ts=pd.NaT,
                         requests_to_first_flag=np.nan, evidence=f"not tested: {exc}")
        return out[RESULT_COLUMNS]
    w = window_mmd(df["account_id"].to_numpy(), df["ts_s"].to_numpy(), x, ref,
                   df["request_id"].to_numpy() if "request_id" in df.columns else None)
    agg = w.groupby("key").agg(windows=("reject", "size"), rejected=("reject", "sum"))
    rej = w[w["reject"]].sort_values(["key", "end"]).groupby("key").first()
    out["windows"] = out["account_id"].map(agg["windows"]).fillna(0).astype(int)
    out["rejected"] = out["account_id"].map(agg["rejected"]).fillna(0).astype(int)
    out["score"] = np.where(out["windows"] > 0, out["rejected"] / out["windows"].clip(lower=1), 0.0)
    out["flagged"] = out["rejected"] > 0
    out["requests_to_first_flag"] = out["account_id"].map(rej["end"])
    out["first_flag_ts"] = pd.to_datetime(out["account_id"].map(rej["end_ts_s"]), unit="s", utc=True)
    out["evidence"] = [f"{r} of {k} windows rejected at 0.3 % per-window false positives" if k
                       else f"fewer than {dp.min_window} requests: not tested"
                       for r, k in zip(out["rejected"], out["windows"])]
    out["baseline"] = "mmd_window"
    return out[RESULT_COLUMNS]


def run_baselines(requests, embeddings: np.ndarray | None = None, params: BaselineParams | None = None,
                  baselines: tuple[str, ...] = BASELINES) -> pd.DataFrame:
    """Run the baseline detectors on one request log (no truth is used).

    Args:
        requests: pandas DataFrame or Arrow table, one row per request: ``account_id``, ``ts``
            (timezone-aware UTC) or ``ts_s`` (epoch seconds), optional ``request_id`` (tie-break),
            optional behaviour columns (see :data:`IF_FEATURES`), and, for ``prada`` and
            ``mmd_window`` when ``embeddings`` is not given, ``emb`` (list of floats) or
            ``system_text`` + ``user_text`` (embedded with :func:`~distillwatch.features.embed.embed_texts`).
            The ``req_features`` table joined with ``req_embeddings`` fits.
        embeddings: ``(n, d)`` array aligned with ``requests`` rows (input order).
        params: :class:`BaselineParams`.
        baselines: which to run (subset of :data:`BASELINES`).

    Returns:
        DataFrame with :data:`RESULT_COLUMNS`, one row per (account, baseline), sorted by baseline
        (in :data:`BASELINES` order) then account: ``score`` 0..1 (higher = more suspicious),
        ``flagged`` bool, ``first_flag_ts`` (UTC, NaT if never), ``requests_to_first_flag``
        (nullable Int64: requests the account had sent when the baseline first fired),
        ``n_requests``, ``evidence``. ``attrs["isolation_forest_features"]`` lists the features used.

    Raises:
        ValueError: unknown baseline, missing column (named), timezone-naive ``ts``, or
            embeddings whose length differs from the requests.
    """
    p = params or BaselineParams()
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise ValueError(f"run_baselines: unknown baselines {sorted(unknown)}; known: {list(BASELINES)}")
    raw = requests if isinstance(requests, pd.DataFrame) else requests.to_pandas()
    df = _prepare(raw)
    x = None
    if {"prada", "mmd_window"} & set(baselines):
        if embeddings is not None:
            x = np.asarray(embeddings, dtype=np.float32)
            if len(x) != len(raw):
                raise ValueError(f"run_baselines: {len(raw)} requests but {len(x)} embeddings")
        elif "emb" in df.columns:
            x = np.vstack(raw["emb"].to_numpy()).astype(np.float32) if len(raw) else np.zeros((0, 1), np.float32)
        elif {"system_text", "user_text"} <= set(df.columns):
            from distillwatch.features.embed import embed_texts

            x = embed_texts(raw["system_text"].tolist(), raw["user_text"].tolist())
        else:
            raise ValueError("run_baselines: prada and mmd_window need embeddings (argument, 'emb' column, "
                             "or 'system_text' and 'user_text' columns)")
        x = x[df["_row"].to_numpy()]  # align with the sorted rows
    parts, attrs = [], {}
    for b in BASELINES:
        if b not in baselines:
            continue
        if b == "rate_limit":
            parts.append(rate_limit_baseline(df, p.daily_limit))
        elif b == "prada":
            parts.append(prada_baseline(df, x, p))
        elif b == "isolation_forest":
            r = isolation_forest_baseline(df, p)
            attrs["isolation_forest_features"] = r.attrs["features"]
            parts.append(r)
        else:
            parts.append(mmd_window_baseline(df, x, p))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=RESULT_COLUMNS)
    out["requests_to_first_flag"] = pd.array(out["requests_to_first_flag"].astype("Float64").round(), dtype="Int64")
    out["flagged"] = out["flagged"].astype(bool)
    out["score"] = out["score"].astype(float)
    out["first_flag_ts"] = pd.to_datetime(out["first_flag_ts"], utc=True)
    out.attrs.update(attrs)
    return out


def baseline_metrics(results: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Precision and recall of each baseline's flags against ``truth`` (``account_id, label, campaign``).

    Definitions as :mod:`distillwatch.evaluate.metrics` (flagged = ban+review for distillwatch;
    a baseline flags or not). Only accounts present in both tables are scored.

    Returns:
        One row per baseline and one per (baseline, campaign): ``baseline, campaign`` ("all" for
        the overall row), ``accounts, flagged, tp, fp, fn, precision, recall`` (None for an empty
        denominator), ``median_requests_to_first_flag`` over flagged attack accounts (overall row)
        or flagged accounts of that campaign.
    """
    from distillwatch.evaluate.metrics import _pr

    m = results.merge(truth[["account_id", "label", "campaign"]], on="account_id", how="inner")
    rows = []
    for b, g in m.groupby("baseline", sort=False):
        pos = g["label"] == "attack"
        pr = _pr(g["flagged"].astype(bool), pos)
        hit = g[g["flagged"] & pos]["requests_to_first_flag"].dropna()
        rows.append({"baseline": b, "campaign": "all", "accounts": len(g), "flagged": int(g["flagged"].sum()),
                     **pr, "median_requests_to_first_flag": float(hit.median()) if len(hit) else None})
        for c, gc in g.groupby("campaign"):
            hit = gc[gc["flagged"]]["requests_to_first_flag"].dropna()
            rows.append({"baseline": b, "campaign": c, "accounts": len(gc), "flagged": int(gc["flagged"].sum()),
                         "tp": None, "fp": None, "fn": None, "precision": None,
                         "recall": float(gc["flagged"].mean()) if (gc["label"] == "attack").all() else None,
                         "median_requests_to_first_flag": float(hit.median()) if len(hit) else None})
    return pd.DataFrame(rows)
