"""The campaign dossier: a per-campaign evidence document rendered from a results directory alone.

Inputs are only the files a scan writes into its ``--out`` directory (``campaigns.json``,
``summary.json``, ``accounts.csv`` and the evidence tables of :mod:`distillwatch.report.evidence`);
the original request log is not needed. Every count shown is read from those files, never
re-estimated: per-campaign request counts are sums of ``campaign_daily.parquet``, account counts
are rows of ``campaign_members.parquet``. Text from the log (prompts, template skeletons, shared
artifacts that hold addresses) goes through :func:`distillwatch.report.redact.redact` first.

Formats: ``html`` (self-contained: inline SVG, inline CSS, no script, no external asset),
``md`` (text and tables) and ``pdf`` (the HTML printed by headless Chromium; see
:func:`html_to_pdf`). ``docs/dossier.md`` describes every section.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from distillwatch.errors import DistillwatchError, InputError
from distillwatch.report.redact import redact
from distillwatch.report.render import CAPABILITY_LABELS, headline

FORMATS = ("html", "md", "pdf")
GRAPH_MAX_ACCOUNTS = 150
"""Most accounts drawn in a campaign's linking graph (the most linked ones)."""
GRAPH_MAX_ARTIFACTS = 120
"""Most shared artifacts drawn in a campaign's linking graph (the most shared of each kind, in turn)."""
EXAMPLE_CHARS = 320
"""Longest redacted example prompt shown (characters; the middle is elided)."""
SKELETON_CHARS = 240
TOP_ASNS = 10
WAVE_HOURS = 72
"""Window of the creation-wave sentence: the most members created within this many hours."""
REQUIRED_FILES = ("campaigns.json", "summary.json", "campaign_members.parquet", "campaign_daily.parquet",
                  "campaign_artifacts.parquet", "campaign_edges.parquet", "account_meta.parquet",
                  "campaign_examples.parquet")
"""Files :func:`render_dossier` reads (``accounts.csv`` is read too when present, for reason ids)."""
NO_ORG = "(no organisation)"


def shorten(text: str | None, n: int) -> str:
    """Shorten ``text`` to at most ``n`` characters by eliding the middle with `` … ``."""
    text = " ".join((text or "").split())
    if len(text) <= n:
        return text
    half = (n - 3) // 2
    return text[:half] + " … " + text[-half:]


EDGE_KIND_LABELS = {"payment": "payment fingerprint", "signup_ip": "sign-up IP", "ip_day": "same IP, same day",
                    "prefix_day": "same /24 or /48, same day", "client_fp": "client fingerprint", "param_fp": "generation parameters",
                    "system_prompt": "system prompt", "template": "prompt template", "lockstep": "lock-step activity"}
PROXY_LABELS = {"vpn": "VPN", "tor": "Tor exit", "cloud": "cloud", "datacenter": "hosting / data centre",
                "hosting": "hosting / data centre", "residential_proxy": "residential proxy"}
_PALETTE = ["#2e6bd9", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#d4ac0d", "#7f8c8d",
            "#2c3e50", "#e84393"]
_KIND_COLOURS = {"payment": "#c0392b", "signup_ip": "#e84393", "ip_day": "#e67e22", "prefix_day": "#d4ac0d",
                 "client_fp": "#8e44ad", "param_fp": "#9b59b6", "system_prompt": "#16a085", "template": "#2e6bd9", "lockstep": "#2c3e50"}
_TIER_COLOURS = {"ban": "#b03a2e", "review": "#e59866"}


class DossierError(DistillwatchError, RuntimeError):
    """The dossier cannot be produced (e.g. PDF asked for without Chromium)."""


# --------------------------------------------------------------------------------------------- data

@dataclass
class Results:
    """The files of a results directory, loaded."""

    dir: Path
    campaigns: list[dict]
    summary: dict
    members: pd.DataFrame
    daily: pd.DataFrame
    artifacts: pd.DataFrame
    edges: pd.DataFrame
    meta: pd.DataFrame
    examples: pd.DataFrame
    reasons: dict[str, str]
    provenance: list[dict]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_results(results_dir: str | Path) -> Results:
    """Read the files of a scan's results directory (see :data:`REQUIRED_FILES`)."""
    d = Path(results_dir)
    if not d.is_dir():
        raise InputError(f"{d}: not a results directory ({'it is a file' if d.exists() else 'it does not exist'})")
    missing = [f for f in REQUIRED_FILES if not (d / f).is_file()]
    if missing:
        raise InputError(f"{d}: not a complete results directory; missing {', '.join(missing)} "
                         "(run `distillwatch scan ... --out DIR` with this version to write the evidence tables)")
    campaigns = json.loads((d / "campaigns.json").read_text(encoding="utf-8"))["campaigns"]
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    reasons = {}
    if (d / "accounts.csv").is_file():
        with open(d / "accounts.csv", newline="", encoding="utf-8") as fh:
            reasons = {r["account_id"]: r.get("reasons") or "" for r in csv.DictReader(fh)}
    read = [f for f in (*REQUIRED_FILES, "accounts.csv") if (d / f).is_file()]
    provenance = [{"file": f, "bytes": (d / f).stat().st_size, "sha256": _sha256(d / f)} for f in read]

    def pq(name):
        return pd.read_parquet(d / name)

    return Results(dir=d, campaigns=campaigns, summary=summary, members=pq("campaign_members.parquet"),
                   daily=pq("campaign_daily.parquet"), artifacts=pq("campaign_artifacts.parquet"),
                   edges=pq("campaign_edges.parquet"), meta=pq("account_meta.parquet"),
                   examples=pq("campaign_examples.parquet"), reasons=reasons, provenance=provenance)


def _none(v: Any) -> Any:
    """NaN/NaT/NA -> None; numpy scalars -> Python scalars."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if isinstance(v, np.generic) else v


def _day(v: Any) -> str:
    v = _none(v)
    return "" if v is None else str(v)[:10]


def _ts(v: Any) -> str:
    v = _none(v)
    if v is None:
        return ""
    return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M UTC")


def _share(n: float, total: float) -> float:
    return float(n) / float(total) if total else 0.0


# --------------------------------------------------------------------------------------------- plots

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "distillwatch-dossier", "font.size": 8, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.titlesize": 9})
    return plt


def _label(s: Any, n: int = 40) -> str:
    """A log value made safe as a matplotlib label: no mathtext, bounded length."""
    s = shorten(str(s), n)
    return s.replace("\\", "\\\\").replace("$", r"\$")


def _svg(fig) -> str:
    """The figure as an inline SVG element: no XML prologue, no metadata, no comments."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    _plt().close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    return svg


def timeline_svg(daily: pd.DataFrame) -> str:
    """Two panels over the campaign's days (UTC): when each model was used (dot size ~ requests,
    the first day of every model after the first is marked), and stacked daily requests per model."""
    plt = _plt()
    import matplotlib.dates as mdates

    models = (daily.groupby("model")["day"].min().sort_values().index.tolist()) if len(daily) else []
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7.6, 1.3 + 0.28 * max(len(models), 1) + 2.2), dpi=96,
                                   sharex=True, gridspec_kw={"height_ratios": [0.6 + 0.28 * max(len(models), 1), 2.2]})
    if len(daily):
        days = pd.to_datetime(daily["day"].astype(str))
        d = daily.assign(day=days)
        piv = d.pivot_table(index="day", columns="model", values="n_requests", aggfunc="sum",
                            fill_value=0).reindex(columns=models).sort_index()
        full = pd.date_range(piv.index.min(), piv.index.max(), freq="D")
        piv = piv.reindex(full, fill_value=0)
        peak = max(float(piv.to_numpy().max()), 1.0)
        bottom = np.zeros(len(piv))
        for i, m in enumerate(models):
            colour = _PALETTE[i % len(_PALETTE)]
            vals = piv[m].to_numpy(dtype=float)
            ax2.bar(piv.index, vals, bottom=bottom, width=0.8, color=colour, label=_label(m))
            bottom += vals
            on = vals > 0
            ax1.scatter(piv.index[on], [i] * int(on.sum()), s=8 + 90 * vals[on] / peak, color=colour, zorder=3)
            first = piv.index[on][0]
            ax1.hlines(i, first, piv.index[on][-1], color=colour, lw=1, alpha=0.5)
            if first > piv.index[0]:
                for ax in (ax1, ax2):
                    ax.axvline(first, color=colour, ls="--", lw=0.9, alpha=0.8)
                ax2.annotate(f"first {_label(m, 24)}", (first, bottom.max() if len(bottom) else 0),
                             xytext=(3, -10), textcoords="offset points", fontsize=7, color=colour)
        ax1.set_yticks(range(len(models)), [_label(m, 24) for m in models])
        ax1.set_ylim(-0.6, len(models) - 0.4)
        ax2.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax2.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
        ax2.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=10))
    else:
        ax2.text(0.5, 0.5, "no requests", ha="center", va="center", transform=ax2.transAxes)
    ax1.set_title("models used, by day (dot size ~ requests)", loc="left")
    ax1.spines["left"].set_visible(False)
    ax1.tick_params(axis="y", length=0)
    ax2.set_ylabel("requests / day (UTC)")
    ax2.grid(axis="y", lw=0.4, alpha=0.5)
    fig.tight_layout()
    return _svg(fig)


def creation_svg(created: pd.Series) -> str:
    """Histogram of member accounts' creation dates (UTC days; weeks when the span exceeds 120 days)."""
    plt = _plt()
    import matplotlib.dates as mdates

    fig, ax = plt.subplots(figsize=(7.6, 2.0), dpi=96)
    c = pd.to_datetime(created.dropna(), utc=True).dt.tz_localize(None)
    if len(c):
        span = (c.max().normalize() - c.min().normalize()).days
        freq, width, unit = ("D", 0.8, "day") if span <= 120 else ("W-MON", 5.5, "week")
        counts = c.dt.to_period(freq).dt.start_time.value_counts().sort_index()
        ax.bar(counts.index, counts.to_numpy(), width=width, color="#8e44ad")
        ax.set_ylabel(f"accounts created / {unit}")
        ax.yaxis.get_major_locator().set_params(integer=True)
        if span <= 14:
            # short spans: at least a fortnight of daily ticks, so a lone wave reads as a spike
            lo = counts.index.min() - pd.Timedelta(days=max(2, (14 - span) // 2))
            ax.set_xlim(lo, lo + pd.Timedelta(days=max(14, span + 4)))
            ax.xaxis.set_major_locator(mdates.DayLocator(interval=2))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
        else:
            ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=8))
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d" if span > 30 else "%b %d"))
    else:
        ax.text(0.5, 0.5, "no creation dates (no accounts file was scanned)", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_yticks([])
    ax.grid(axis="y", lw=0.4, alpha=0.5)
    fig.tight_layout()
    return _svg(fig)


def _graph_subset(edges: pd.DataFrame, max_accounts: int, max_artifacts: int) -> tuple[pd.DataFrame, dict]:
    """Keep the most linked accounts and, in turn per kind, the most shared artifacts."""
    e = edges.drop_duplicates(["account_id", "kind", "artifact"])
    n_acc, n_art = e["account_id"].nunique(), e[["kind", "artifact"]].drop_duplicates().shape[0]
    if n_acc > max_accounts:
        # groupby sorts by account id, so ties keep id order (deterministic)
        keep = e.groupby("account_id").size().sort_values(ascending=False, kind="stable").index[:max_accounts]
        e = e[e["account_id"].isin(keep)]
    deg = e.groupby(["kind", "artifact"]).size().rename("deg").reset_index()
    deg = deg[deg["deg"] >= 2].sort_values(["kind", "deg", "artifact"], ascending=[True, False, True])
    if len(deg) > max_artifacts:
        deg["rank"] = deg.groupby("kind").cumcount()
        deg = deg.sort_values(["rank", "deg", "kind"], ascending=[True, False, True]).head(max_artifacts)
    e = e.merge(deg[["kind", "artifact"]], on=["kind", "artifact"])
    info = {"accounts_total": int(n_acc), "artifacts_total": int(n_art), "accounts_shown": int(e["account_id"].nunique()),
            "artifacts_shown": int(e[["kind", "artifact"]].drop_duplicates().shape[0]), "edges_shown": int(len(e))}
    return e, info


def graph_svg(edges: pd.DataFrame, tiers: dict[str, str], max_accounts: int = GRAPH_MAX_ACCOUNTS,
              max_artifacts: int = GRAPH_MAX_ARTIFACTS) -> tuple[str, dict]:
    """The linking evidence as a bipartite graph (accounts ● and the artifacts they share ■), laid out
    with igraph (Fruchterman-Reingold, fixed seed) and drawn with matplotlib. Returns (svg, info)."""
    plt = _plt()
    import igraph as ig
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    e, info = _graph_subset(edges, max_accounts, max_artifacts)
    fig, ax = plt.subplots(figsize=(7.6, 5.6), dpi=96)
    ax.set_axis_off()
    if not len(e):
        ax.text(0.5, 0.5, "no shared artifacts", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        return _svg(fig), info
    accounts = sorted(e["account_id"].unique())
    arts = sorted(set(zip(e["kind"], e["artifact"])))
    idx = {("acct", a): i for i, a in enumerate(accounts)}
    idx.update({a: len(accounts) + i for i, a in enumerate(arts)})
    pairs = [(idx[("acct", a)], idx[(k, t)]) for a, k, t in zip(e["account_id"], e["kind"], e["artifact"])]
    g = ig.Graph(n=len(idx), edges=pairs)
    rng = random.Random(7)
    ig.set_random_number_generator(rng)
    try:
        layout = np.array(g.layout_fruchterman_reingold(niter=1000).coords)
    finally:
        ig.set_random_number_generator(random)
    kinds = [k for k, _ in arts]
    segs = [(layout[s], layout[t]) for s, t in pairs]
    colours = [_KIND_COLOURS.get(k, "#7f8c8d") for k in e["kind"]]
    ax.add_collection(LineCollection(segs, colors=colours, linewidths=0.5, alpha=0.35, zorder=1))
    a_xy = layout[:len(accounts)]
    ax.scatter(a_xy[:, 0], a_xy[:, 1], s=46, marker="o", edgecolors="white", linewidths=0.6, zorder=3,
               c=[_TIER_COLOURS.get(tiers.get(a, ""), "#5d6d7e") for a in accounts])
    t_xy = layout[len(accounts):]
    ax.scatter(t_xy[:, 0], t_xy[:, 1], s=16, marker="s", zorder=2,
               c=[_KIND_COLOURS.get(k, "#7f8c8d") for k in kinds])
    ax.autoscale()
    ax.margins(0.04)
    handles = [Line2D([], [], marker="o", ls="", color=c, label=f"account ({t})") for t, c in _TIER_COLOURS.items()
               if any(tiers.get(a) == t for a in accounts)]
    handles += [Line2D([], [], marker="s", ls="", color=_KIND_COLOURS.get(k, "#7f8c8d"),
                       label=EDGE_KIND_LABELS.get(k, _label(k)))
                for k in sorted(set(kinds))]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _svg(fig), info


# --------------------------------------------------------------------------------------------- model

def _waves(created: pd.Series, hours: int = WAVE_HOURS) -> dict | None:
    c = pd.to_datetime(created.dropna(), utc=True).sort_values().reset_index(drop=True)
    if not len(c):
        return None
    t = c.to_numpy(dtype="datetime64[ns]")
    ends = np.searchsorted(t, t + np.timedelta64(hours, "h"), side="right")
    counts = ends - np.arange(len(t))
    i = int(np.argmax(counts))
    return {"n": int(counts[i]), "of": int(len(t)), "hours": hours, "start": _ts(c[i]), "end": _ts(c[int(ends[i]) - 1])}


def _anchor(cid: str) -> str:
    return "campaign-" + re.sub(r"[^A-Za-z0-9_-]", "-", str(cid))


def _campaign(c: dict, r: Results, tiers: dict[str, str], plots: bool = True) -> dict:
    cid = c["campaign_id"]
    members = sorted(r.members.loc[r.members["campaign_id"] == cid, "account_id"].tolist())
    daily = r.daily[r.daily["campaign_id"] == cid]
    arts = r.artifacts[r.artifacts["campaign_id"] == cid]
    n_requests = int(daily["n_requests"].sum())
    warnings = []
    if len(members) != c.get("n_accounts") or sorted(c.get("accounts", [])) != members:
        warnings.append(f"campaigns.json lists {c.get('n_accounts')} accounts, campaign_members.parquet {len(members)}")
    if n_requests != c.get("n_requests"):
        warnings.append(f"campaigns.json counts {c.get('n_requests')} requests, campaign_daily.parquet {n_requests}")

    # models and daily volume
    models = []
    for m, g in daily.groupby("model", sort=False):
        models.append({"model": str(m), "requests": int(g["n_requests"].sum()), "first_day": _day(g["day"].min()),
                       "last_day": _day(g["day"].max()), "days": int(g["day"].nunique())})
    models.sort(key=lambda x: (x["first_day"], x["model"]))
    per_day = daily.groupby("day")["n_requests"].sum()
    day_rows = [{"day": _day(d), "model": str(m), "requests": int(n), "accounts": int(a)}
                for d, m, n, a in daily.sort_values(["day", "model"])[["day", "model", "n_requests", "n_accounts"]]
                .itertuples(index=False)]

    # egress
    proxies = arts[arts["kind"] == "proxy"].sort_values("n_requests", ascending=False)
    proxy_rows = [{"kind": PROXY_LABELS.get(str(p.value), str(p.value)), "provider": _none(p.detail) or "",
                   "requests": int(p.n_requests), "accounts": int(p.n_accounts),
                   "share": _share(p.n_requests, n_requests)} for p in proxies.itertuples()]
    unproxied = n_requests - sum(p["requests"] for p in proxy_rows)
    asns = arts[arts["kind"] == "asn"].sort_values(["n_requests", "value"], ascending=[False, True])
    asn_rows = [{"asn": str(a.value), "org": _none(a.detail) or "", "requests": int(a.n_requests),
                 "accounts": int(a.n_accounts), "share": _share(a.n_requests, n_requests)}
                for a in asns.head(TOP_ASNS).itertuples()]
    rest = asns.iloc[TOP_ASNS:]
    asn_other = ({"n": int(len(rest)), "requests": int(rest["n_requests"].sum()),
                  "share": _share(rest["n_requests"].sum(), n_requests)} if len(rest) else None)
    uas = arts[arts["kind"] == "user_agent"].sort_values("n_requests", ascending=False).head(5)
    ua_rows = [{"user_agent": shorten(str(u.value), 120), "requests": int(u.n_requests), "accounts": int(u.n_accounts)}
               for u in uas.itertuples()]

    # time zone
    off = c.get("inferred_utc_offset")
    tz_sentence = next((x.split(": ", 1)[1] for x in c.get("evidence", []) if x.startswith("campaign.operator_timezone:")),
                       None)

    # creation waves
    mm = r.meta[r.meta["account_id"].isin(members)]
    created = mm["created_at"] if "created_at" in mm else pd.Series([], dtype="datetime64[ns, UTC]")
    c_dates = pd.to_datetime(created.dropna(), utc=True)
    creation_days = (c_dates.dt.strftime("%Y-%m-%d").value_counts().sort_index()) if len(c_dates) else pd.Series([])
    lag = None
    if len(c_dates):
        fs = pd.to_datetime(mm.loc[created.notna(), "first_seen"], utc=True)
        lag = float(((fs - c_dates).dt.total_seconds() / 86400).median())

    # linking graph
    e = r.edges[r.edges["campaign_id"] == cid]
    gsvg, ginfo = graph_svg(e, tiers) if plots else ("", _graph_subset(e, GRAPH_MAX_ACCOUNTS, GRAPH_MAX_ARTIFACTS)[1])
    kinds = []
    for k, g in e.groupby("kind"):
        top = g.groupby("artifact")["account_id"].nunique().sort_values(ascending=False, kind="stable")
        kinds.append({"kind": EDGE_KIND_LABELS.get(str(k), str(k)), "artifacts": int(len(top)),
                      "accounts": int(g["account_id"].nunique()),
                      "top": [{"artifact": (f"payment method #{i + 1}" if k == "payment" else shorten(redact(str(a)), 60)),
                               "accounts": int(n)} for i, (a, n) in enumerate(top.head(3).items())]})
    kinds.sort(key=lambda x: -x["accounts"])

    # templates and examples
    tmpl = arts[arts["kind"] == "template"].set_index("value")
    examples = []
    for x in r.examples[r.examples["campaign_id"] == cid].itertuples():
        t = tmpl.loc[x.template_id] if x.template_id in tmpl.index else None
        examples.append({"template_id": str(x.template_id),
                         "requests": int(t["n_requests"]) if t is not None else None,
                         "accounts": int(t["n_accounts"]) if t is not None else None,
                         "skeleton": shorten(redact(_none(t["detail"]) or ""), SKELETON_CHARS) if t is not None else "",
                         "example": shorten(redact(_none(x.user_text) or ""), EXAMPLE_CHARS)})
    n_templates = int(len(tmpl))

    # release pivot (models first used after the campaign's first day)
    later = [m for m in models if models and m["first_day"] > models[0]["first_day"]]
    sig = (c.get("signals") or {}).get("campaign.release_pivot")
    pivot_sentence = next((x.split(": ", 1)[1] for x in c.get("evidence", []) if x.startswith("campaign.release_pivot:")),
                          None)
    pivot = ({"value": float(sig.get("value") or 0), "score": float(sig.get("score") or 0), "sentence": pivot_sentence,
              "new_models": later} if pivot_sentence or (sig and float(sig.get("score") or 0) > 0) else None)

    caps = sorted((c.get("capabilities") or {}).items(), key=lambda kv: -kv[1])
    member_rows = [{"account_id": a.account_id, "org_id": _none(a.org_id) or "", "tier": _none(a.tier) or "",
                    "risk": float(_none(a.risk) or 0), "requests": int(a.n_requests), "created_at": _ts(a.created_at),
                    "verification": _none(a.verification) or "", "first_seen": _ts(a.first_seen),
                    "last_seen": _ts(a.last_seen)}
                   for a in mm.sort_values(["n_requests", "account_id"], ascending=[False, True]).itertuples()]
    return {
        "campaign_id": cid, "anchor": _anchor(cid), "score": float(c.get("score") or 0),
        "headline": headline(c), "n_accounts": len(members), "n_requests": n_requests,
        "first_seen": c.get("first_seen", ""), "last_seen": c.get("last_seen", ""),
        "days_active": int(per_day.index.nunique()), "peak_day": _day(per_day.idxmax()) if len(per_day) else "",
        "peak_requests": int(per_day.max()) if len(per_day) else 0,
        "link_families": c.get("link_families") or [], "warnings": warnings,
        "models": models, "later_models": later, "day_rows": day_rows, "timeline_svg": timeline_svg(daily) if plots else "",
        "capabilities": [{"label": CAPABILITY_LABELS.get(k, k), "share": float(v)} for k, v in caps],
        "targets": [CAPABILITY_LABELS.get(k, k) for k, v in caps if v >= 0.1 and k != "general_chat"][:3]
        or ["general chat"],
        "proxy_share": float(c.get("proxy_share") or 0), "proxy_rows": proxy_rows,
        "unproxied": {"requests": int(unproxied), "share": _share(unproxied, n_requests)},
        "asn_rows": asn_rows, "asn_other": asn_other, "n_asns": int(len(asns)),
        "n_client_ips": int((arts["kind"] == "ip").sum()), "n_ip_countries": c.get("n_ip_countries"),
        "user_agents": ua_rows,
        "utc_offset": None if off is None else int(off),
        "utc_offset_label": None if off is None else f"UTC{int(off):+d}", "tz_sentence": tz_sentence,
        "tz_signal": (c.get("signals") or {}).get("campaign.operator_timezone"),
        "creation_svg": creation_svg(created) if plots else "", "creation_days": [{"day": d, "accounts": int(n)}
                                                                for d, n in creation_days.items()],
        "n_created_known": int(len(c_dates)), "wave": _waves(created), "median_lag_days": lag,
        "graph_svg": gsvg, "graph": ginfo, "edge_kinds": kinds,
        "examples": examples, "n_templates": n_templates,
        "pivot": pivot,
        "evidence": [redact(x) for x in c.get("evidence", [])],
        "signals": [{"id": k, "family": v.get("family", ""), "value": float(v.get("value") or 0),
                     "score": float(v.get("score") or 0)} for k, v in sorted((c.get("signals") or {}).items())],
        "members": member_rows,
    }


def compare_sentence(rows: list[dict]) -> str:
    """One sentence comparing the largest campaign with the rest (by accounts and by requests).

    ``rows``: dicts with ``campaign_id``, ``n_accounts`` and ``n_requests``.
    """
    if not rows:
        return "No campaign was found."
    if len(rows) == 1:
        r = rows[0]
        return f"One campaign was found: {r['campaign_id']}, {r['n_accounts']:,} accounts and {r['n_requests']:,} requests."
    k = len(rows) - 1
    others = f"the other {k} campaigns combined" if k > 1 else "the other campaign"
    facts = []
    for key, unit in (("n_accounts", "accounts"), ("n_requests", "requests")):
        big = max(rows, key=lambda r: (r[key], r["n_requests"], r["n_accounts"]))
        rest = sum(r[key] for r in rows if r is not big)
        facts.append((unit, big["campaign_id"], big[key], rest, _share(big[key], big[key] + rest)))
    (ua, ca, va, ra, _), (ur, cr, vr, rr, _) = facts
    if ca == cr and va > ra and vr > rr:
        return (f"{ca} is larger than {others}: {va:,} accounts against {ra:,}, "
                f"{vr:,} requests against {rr:,}.")
    out = []
    for unit, cid, v, rest, share in facts:
        if v > rest:
            out.append(f"{cid} is larger than {others} in {unit} ({v:,} against {rest:,})")
        else:
            rel = "as many as" if v == rest else "fewer than"
            out.append(f"{cid} has the most {unit} ({v:,}, {share:.0%} of all campaigns' {unit}) "
                       f"but {rel} {others} ({rest:,})")
    return "; ".join(out) + "."


def _tenants(r: Results) -> dict:
    m = r.meta.copy()
    m["org"] = m["org_id"].map(_none).fillna(NO_ORG) if "org_id" in m else NO_ORG
    m["flagged"] = m["tier"].isin(["ban", "review"])
    orgs = []
    for org, g in m.groupby("org", sort=False):
        f = g[g["flagged"]]
        if not len(f):
            continue
        total = int(g["n_requests"].sum())
        fr = int(f["n_requests"].sum())
        orgs.append({"org_id": str(org), "accounts": int(len(g)), "requests": total, "flagged_requests": fr,
                     "flagged_share": _share(fr, total), "n_ban": int((f["tier"] == "ban").sum()),
                     "n_review": int((f["tier"] == "review").sum()),
                     "flagged": [{"account_id": a.account_id, "tier": a.tier, "risk": float(a.risk),
                                  "campaign_id": _none(a.campaign_id) or "", "anchor": _anchor(_none(a.campaign_id) or ""),
                                  "requests": int(a.n_requests),
                                  "reasons": ", ".join([x for x in r.reasons.get(a.account_id, "").split(";") if x][:4])}
                                 for a in f.sort_values(["n_requests", "account_id"], ascending=[False, True]).itertuples()]})
    orgs.sort(key=lambda o: (o["org_id"] == NO_ORG, -o["flagged_requests"], o["org_id"]))
    n_orgs = sum(1 for o in orgs if o["org_id"] != NO_ORG)
    n_flagged = int(m["flagged"].sum())
    n_no_org = int(m.loc[m["flagged"] & (m["org"] == NO_ORG)].shape[0])
    return {"orgs": orgs, "n_orgs": n_orgs, "n_flagged": n_flagged,
            "n_flagged_in_orgs": n_flagged - n_no_org, "n_no_org": n_no_org,
            "n_orgs_total": int(m.loc[m["org"] != NO_ORG, "org"].nunique())}


def dossier_data(results_dir: str | Path, plots: bool = True) -> dict:
    """Everything the dossier shows, as plain data (the templates' context); ``plots=False`` skips
    drawing the SVG figures (their keys are then empty strings)."""
    r = load_results(results_dir)
    tiers = dict(zip(r.meta["account_id"], r.meta["tier"]))
    campaigns = [_campaign(c, r, tiers, plots) for c in r.campaigns]
    rows = [{"campaign_id": c["campaign_id"], "anchor": c["anchor"], "n_accounts": c["n_accounts"],
             "n_requests": c["n_requests"], "first_day": c["first_seen"][:10], "last_day": c["last_seen"][:10],
             "days_active": c["days_active"], "targets": c["targets"], "proxy_share": c["proxy_share"],
             "models": [m["model"] for m in c["models"]], "score": c["score"]} for c in campaigns]
    tot_a, tot_r = sum(x["n_accounts"] for x in rows), sum(x["n_requests"] for x in rows)
    for x in rows:
        x["account_share"], x["request_share"] = _share(x["n_accounts"], tot_a), _share(x["n_requests"], tot_r)
    s = r.summary
    # the accounts / releases files' own reconciliation (quarantine.jsonl holds their rows too)
    side_files = [{"name": Path(str(f.get("file", ""))).name, "rows_read": int(f.get("rows_read", 0)),
                   "rows_quarantined": int(f.get("rows_quarantined", 0))} for f in (s.get("files") or [])[1:]]
    return {"results_dir": str(r.dir.resolve()), "results_name": r.dir.resolve().name, "summary": s,
            "side_files": side_files, "tiers": s.get("tiers", {}), "campaigns": campaigns, "comparison": rows,
            "comparison_sentence": compare_sentence(rows), "totals": {"n_accounts": tot_a, "n_requests": tot_r},
            "tenants": _tenants(r), "provenance": r.provenance,
            "intel": (s.get("data_versions") or {}).get("intel_description", ""),
            "attributions": (s.get("data_versions") or {}).get("intel_attributions", []) or [],
            "graph_caps": {"accounts": GRAPH_MAX_ACCOUNTS, "artifacts": GRAPH_MAX_ARTIFACTS}}


# --------------------------------------------------------------------------------------------- render

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|#~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def md_escape(v: Any) -> str:
    """A value made inert in Markdown: one line; Markdown and HTML punctuation backslash-escaped
    (an ``_`` inside a word, which cannot start emphasis, is left as it is); ``&`` that would start
    an HTML entity becomes ``&amp;``."""
    s = " ".join(str("" if v is None else v).split())
    return _MD_SPECIAL.sub(r"\\\1", _MD_ENTITY.sub("&amp;", s))


_MD_CODE_SAFE = re.compile(r"[A-Za-z0-9 ._:/@+=,;()\[\]%-]*")


def md_code(v: Any) -> str:
    """An identifier as a Markdown code span; a value with other characters than letters, digits and
    plain punctuation is escaped with :func:`md_escape` instead (so no renderer ever sees raw HTML)."""
    s = " ".join(str("" if v is None else v).split())
    if not s:
        return ""
    return f"`{s}`" if _MD_CODE_SAFE.fullmatch(s) else md_escape(s)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("distillwatch", "report/templates"),
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md_escape
    env.filters["mdcode"] = md_code
    env.filters["num"] = lambda n: "" if n is None else f"{int(n):,}"
    env.filters["pct"] = lambda x, d=1: "" if x is None else f"{100 * float(x):.{d}f}%"
    env.filters["f2"] = lambda x: "" if x is None else f"{float(x):.2f}"
    env.filters["plural"] = lambda n, word, words=None: f"{int(n):,} {word if int(n) == 1 else (words or word + 's')}"
    return env


def render_dossier(results_dir: str | Path, fmt: str = "html", out_path: str | Path | None = None) -> Path:
    """Render the campaign dossier of a results directory; return the written file's path.

    Args:
        results_dir: a scan's ``--out`` directory (only its files are read).
        fmt: ``"html"`` (self-contained), ``"md"`` or ``"pdf"`` (needs Chromium, see :func:`html_to_pdf`).
        out_path: where to write; default ``<results_dir>/dossier.<fmt>``.

    Raises:
        ValueError: unknown ``fmt``.
        InputError: the directory lacks a results file.
        DossierError: ``pdf`` without Chromium, or Chromium failed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown dossier format {fmt!r}; expected one of {', '.join(FORMATS)}")
    results_dir = Path(results_dir)
    out = Path(out_path) if out_path is not None else results_dir / f"dossier.{fmt}"
    if fmt == "pdf":
        chromium = find_chromium()
        if chromium is None:
            raise DossierError("a PDF dossier needs Chromium (not found at /usr/bin/chromium nor on PATH); "
                               "install it with `apt-get install chromium`, or render --format html and print that")
    ctx = dossier_data(results_dir, plots=fmt != "md")
    env = _env()
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "md":
        out.write_text(env.get_template("dossier.md.j2").render(**ctx), encoding="utf-8")
        return out
    html = env.get_template("dossier.html.j2").render(**ctx)
    if fmt == "html":
        out.write_text(html, encoding="utf-8")
        return out
    with tempfile.TemporaryDirectory(prefix="distillwatch-dossier-") as tmp:
        src = Path(tmp) / "dossier.html"
        src.write_text(html, encoding="utf-8")
        html_to_pdf(src, out, chromium=chromium)
    return out


# --------------------------------------------------------------------------------------------- chromium

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


def find_chromium() -> Path | None:
    """Chromium to print and screenshot with: ``$DISTILLWATCH_CHROMIUM``, ``/usr/bin/chromium``, or
    ``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH; None when there is none."""
    env = os.environ.get("DISTILLWATCH_CHROMIUM")
    if env:
        return Path(env) if Path(env).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return Path("/usr/bin/chromium")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return Path(p)
    return None


def _run_chromium(args: list[str], produced: Path, chromium: Path | None, timeout: int) -> Path:
    exe = chromium or find_chromium()
    if exe is None:
        raise DossierError("Chromium is needed (apt-get install chromium)")
    produced.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="distillwatch-chromium-") as profile:
        cmd = [str(exe), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                               env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired as exc:
            raise DossierError(f"Chromium did not finish within {timeout} s: {' '.join(cmd)}") from exc
    if not produced.is_file() or produced.stat().st_size == 0:
        raise DossierError(f"Chromium wrote no {produced.name} (exit {p.returncode}): {p.stderr[-1500:]}")
    return produced


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, chromium: Path | None = None,
                timeout: int = 180) -> Path:
    """Print an HTML file to PDF with headless Chromium (A4, backgrounds as in the print CSS)."""
    pdf = Path(pdf_path).resolve()
    if pdf.exists():
        pdf.unlink()
    return _run_chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                          Path(html_path).resolve().as_uri()], pdf, chromium, timeout)


def screenshot(html_path: str | Path, png_path: str | Path, width: int = 1200, height: int = 3000,
               chromium: Path | None = None, timeout: int = 120) -> Path:
    """Screenshot an HTML file with headless Chromium (the top ``width`` x ``height`` pixels)."""
    png = Path(png_path).resolve()
    if png.exists():
        png.unlink()
    return _run_chromium(["--hide-scrollbars", f"--screenshot={png}", f"--window-size={width},{height}",
                          Path(html_path).resolve().as_uri()], png, chromium, timeout)
