"""Render ``report.md`` and a self-contained ``report.html`` from scan results (Jinja2 + matplotlib SVG)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

CAPABILITY_LABELS = {"coding": "coding", "agentic": "agentic tool use", "long_horizon": "long tasks",
                     "reasoning": "chain-of-thought reasoning", "rubric_grading": "rubric grading",
                     "maths": "maths", "general_chat": "general chat"}


def headline(c: dict) -> str:
    """The campaign's headline: "N accounts, M interactions between D1 and D2, targeting …, through …"."""
    caps = [CAPABILITY_LABELS.get(k, k) for k, v in sorted(c["capabilities"].items(), key=lambda kv: -kv[1])
            if v >= 0.1 and k != "general_chat"][:3] or ["general chat"]
    if c["proxy_share"] >= 0.5:
        via = (f"VPN, Tor, cloud and hosting exits ({c['proxy_share']:.0%} of requests; "
               f"{c.get('n_client_ips', 0):,} addresses in {c.get('n_asns', 0):,} networks)")
    elif c.get("n_asns"):
        top = c["top_asns"][0]
        via = (f"{c['n_client_ips']:,} IP addresses in {c['n_asns']:,} networks (ASNs) across "
               f"{c['n_ip_countries']:,} countries, mostly residential (largest: AS{top['asn']} "
               f"{top['org'] or ''}, {top['share']:.0%})")
    else:
        via = "networks without IP intelligence"
    d1, d2 = c["first_seen"][:10], c["last_seen"][:10]
    return (f"{c['n_accounts']:,} accounts, {c['n_requests']:,} interactions between {d1} and {d2}, "
            f"targeting {', '.join(caps)}, through {via}.")


def timeline_svg(daily: pd.DataFrame) -> str:
    """Stacked daily request counts per model as an inline SVG string (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 2.4), dpi=96)
    if len(daily):
        piv = daily.pivot_table(index="day", columns="model", values="n", aggfunc="sum", fill_value=0).sort_index()
        bottom = None
        for model in piv.columns:
            ax.bar(pd.to_datetime(piv.index), piv[model], bottom=bottom, label=str(model), width=0.8)
            bottom = piv[model] if bottom is None else bottom + piv[model]
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylabel("requests / day (UTC)", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def render_reports(result, details: dict, out: Path) -> None:
    """Write ``report.md`` and ``report.html`` into ``out``."""
    # every value from the log (prompts, ids, user agents) is escaped in HTML; Markdown is left as text
    env = Environment(loader=PackageLoader("distillwatch", "report/templates"),
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
                      trim_blocks=True, lstrip_blocks=True)
    acc = result.accounts
    flagged = acc[(acc["tier"] != "clear") & (acc["campaign_id"] == "")].head(25)
    ctx = {
        "summary": result.summary,
        "campaigns": [{**c, "headline": headline(c), "detail": details.get(c["campaign_id"], {}),
                       "svg": timeline_svg(details[c["campaign_id"]]["daily"]) if c["campaign_id"] in details else ""}
                      for c in result.campaigns],
        "flagged": flagged.to_dict("records"),
        "labels": CAPABILITY_LABELS,
    }
    (out / "report.md").write_text(env.get_template("report.md.j2").render(**ctx), encoding="utf-8")
    (out / "report.html").write_text(env.get_template("report.html.j2").render(**ctx), encoding="utf-8")
