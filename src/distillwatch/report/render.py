"""Wording shared by every report: capability labels and the campaign headline sentence."""

from __future__ import annotations



CAPABILITY_LABELS = {"coding": "coding", "agentic": "agentic tool use", "long_horizon": "long tasks",
                     "reasoning": "chain-of-thought reasoning", "rubric_grading": "rubric grading",
                     "maths": "maths", "general_chat": "general chat"}


def headline(c: dict) -> str:
    """The campaign's headline: "N accounts, M interactions between D1 and D2, targeting …, through …"."""
    caps = [CAPABILITY_LABELS.get(k, k) for k, v in sorted(c["capabilities"].items(), key=lambda kv: -kv[1])
            if v >= 0.1 and k != "general_chat"][:3] or ["general chat"]
    if c["proxy_share"] >= 0.5:
        via = (f"VPN, Tor, cloud or hosting exits ({c['proxy_share']:.0%} of requests; "
               f"{c.get('n_client_ips', 0):,} addresses in {c.get('n_asns', 0):,} networks)")
    elif c.get("n_asns"):
        top = c["top_asns"][0]
        via = (f"{c['n_client_ips']:,} IP addresses in {c['n_asns']:,} networks (ASNs) across "
               f"{c['n_ip_countries']:,} countries, {1 - c['proxy_share']:.0%} of requests from addresses on no "
               f"VPN, Tor, cloud or hosting list (largest network: AS{top['asn']} "
               f"{top['org'] or ''}, {top['share']:.0%})")
    else:
        via = "networks without IP intelligence"
    d1, d2 = c["first_seen"][:10], c["last_seen"][:10]
    return (f"{c['n_accounts']:,} accounts, {c['n_requests']:,} interactions between {d1} and {d2}, "
            f"targeting {', '.join(caps)}, through {via}.")
