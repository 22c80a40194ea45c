"""Small builders shared by the unit tests: request rows, JSONL files, fake IP intelligence.

Nothing here computes an expected value: tests state their expectations by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa

TS = "2026-03-02T10:00:00Z"
"""Default request timestamp (a Monday, 10:00 UTC)."""

INTEL_COLUMNS = ("ip", "asn", "as_org", "country", "prefix", "cloud_provider", "proxy_kind")


def req(rid: str, text: str | None = "hello there", *, account: str = "acct_a", ts: Any = TS,
        model: str = "aurora-2-pro", system: str | None = None, **extra) -> dict:
    """One valid request row (chat form). ``system`` adds a system message before the user message.

    Keyword arguments are copied into the row as they are (``tools=...``, ``max_tokens=...``,
    ``messages=...`` overrides the chat built from ``text``).
    """
    msgs = []
    if system is not None:
        msgs.append({"role": "system", "content": system})
    if text is not None:
        msgs.append({"role": "user", "content": text})
    row = {"request_id": rid, "timestamp": ts, "account_id": account, "model": model, "messages": msgs}
    row.update(extra)
    return row


def write_jsonl(path: Path, rows: Iterable[dict | str | bytes]) -> Path:
    """Write rows as JSON Lines; a ``str`` or ``bytes`` item is written verbatim as one line."""
    with open(path, "wb") as fh:
        for r in rows:
            if isinstance(r, bytes):
                fh.write(r)
            elif isinstance(r, str):
                fh.write(r.encode("utf-8"))
            else:
                fh.write(json.dumps(r, ensure_ascii=False).encode("utf-8"))
            fh.write(b"\n")
    return path


class FakeIntel:
    """Stand-in for :class:`distillwatch.intel.IntelDB`: a dict ``ip -> {column: value}``.

    ``lookup(ips)`` returns one row per ip, in order, with the columns the request features
    join on; unknown addresses get nulls.
    """

    def __init__(self, table: dict[str, dict] | None = None):
        self.table = table or {}
        self.calls: list[list[str]] = []

    def lookup(self, ips) -> pa.Table:
        ips = list(ips)
        self.calls.append(ips)
        cols: dict[str, list] = {c: [] for c in INTEL_COLUMNS}
        for ip in ips:
            info = self.table.get(ip, {})
            cols["ip"].append(ip)
            for c in INTEL_COLUMNS[1:]:
                cols[c].append(info.get(c))
        return pa.table({
            "ip": pa.array(cols["ip"], pa.string()),
            "asn": pa.array(cols["asn"], pa.int64()),
            "as_org": pa.array(cols["as_org"], pa.string()),
            "country": pa.array(cols["country"], pa.string()),
            "prefix": pa.array(cols["prefix"], pa.string()),
            "cloud_provider": pa.array(cols["cloud_provider"], pa.string()),
            "proxy_kind": pa.array(cols["proxy_kind"], pa.string()),
        })


def request_features(path: Path, intel=None):
    """Run ingest + IP intel + request features on ``path``; return (req_features DataFrame, ingest result).

    The DataFrame is indexed by ``request_id``.
    """
    df, _, ing = pipeline_features(path, intel, accounts=False)
    return df, ing


def pipeline_features(path: Path, intel=None, accounts: bool = True):
    """Run ingest + IP intel + request features (+ account features) on the log at ``path``.

    Returns ``(req_features indexed by request_id, account features DataFrame or None, ingest result)``.
    """
    from distillwatch.engine import DuckDBEngine
    from distillwatch.features.account_features import build_account_features
    from distillwatch.features.request_features import add_ip_intel, build_request_features
    from distillwatch.ingest.requests import read_requests

    eng = DuckDBEngine(threads=2)
    try:
        ing = read_requests(eng, path)
        add_ip_intel(eng, intel if intel is not None else FakeIntel())
        build_request_features(eng)
        df = eng.table("SELECT * FROM req_features").to_pandas().set_index("request_id")
        feats = build_account_features(eng, has_accounts=False, has_releases=False) if accounts else None
    finally:
        eng.close()
    return df, feats, ing


def write_tiny_intel(root: Path) -> Path:
    """A tiny IP-intelligence directory in the ``shared/data/ip`` layout (see intel/sources.py).

    * 1.2.3.0/24: AS64500 "Example Residential ISP", country DE
    * 2001:db8::/32: AS64502 "Example V6 ISP"
    * 5.6.7.0/24: AS64501 "Example Hosting", on the datacenter list
    * 9.9.9.9: a Tor exit; 8.8.0.0/16: VPN; 3.0.0.0/8: amazon (cloud)
    """
    (root / "ip-location-db/asn").mkdir(parents=True, exist_ok=True)
    (root / "ip-location-db/dbip-country").mkdir(parents=True, exist_ok=True)
    (root / "tor").mkdir(parents=True, exist_ok=True)
    (root / "x4bnet_lists_vpn").mkdir(parents=True, exist_ok=True)
    (root / "ipranges_cc0/amazon").mkdir(parents=True, exist_ok=True)
    (root / "ip-location-db/asn/asn-ipv4.csv").write_text(
        "1.2.3.0,1.2.3.255,64500,Example Residential ISP\n5.6.7.0,5.6.7.255,64501,Example Hosting\n")
    (root / "ip-location-db/asn/asn-ipv6.csv").write_text(
        "2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64502,Example V6 ISP\n")
    (root / "ip-location-db/dbip-country/dbip-country-ipv4.csv").write_text("1.2.3.0,1.2.3.255,DE\n")
    (root / "tor/tor-exit-nodes.lst").write_text("9.9.9.9\n")
    (root / "x4bnet_lists_vpn/output_vpn_ipv4.txt").write_text("8.8.0.0/16\n")
    (root / "x4bnet_lists_vpn/output_datacenter_ipv4.txt").write_text("5.6.7.0/24\n")
    (root / "ipranges_cc0/amazon/ipv4_merged.txt").write_text("3.0.0.0/8\n")
    return root


# ---- account feature rows ------------------------------------------------------------------
NAN = float("nan")
JAN = pd.Timestamp("2026-01-15T12:00:00Z")

NEUTRAL_ACCOUNT = dict(
    account_id="acct_x", n_requests=100, active_days=5, cot_share=0.0, hv_share=0.0, top_capability="general_chat",
    top_capability_share=0.5, rubric_share=0.0, shared_template_share=0.0, top_template=None,
    long_output_share=0.0, single_turn_share=0.2, mean_max_tokens=NAN, distinct_hours=10, inferred_utc_offset=None,
    gap_cv=2.0, top_ip_country=None, billing_country=None, first_seen=JAN, n_prefixes=1, n_asns=1,
    anon_share=0.0, hosting_share=0.0, age_at_first_use_h=NAN, pivot_hours=NAN, pivot_share=NAN, pivot_model=None,
    created_at=pd.NaT, content=0.0, pure_template_requests=0, extraction_share=0.0, burst_share=0.2,
    crowd_cot_share=0.0, crowd_prompt_accounts=0,
)
"""An ``acct_features`` row on which no account signal has evidence (every score 0)."""


def account_frame(rows: list[dict], index=None) -> pd.DataFrame:
    """``acct_features``-like frame: each dict overrides :data:`NEUTRAL_ACCOUNT` (dtypes as the pipeline's)."""
    df = pd.DataFrame([{**NEUTRAL_ACCOUNT, **r} for r in rows], index=index)
    df["inferred_utc_offset"] = pd.array(df["inferred_utc_offset"].tolist(), dtype="Int64")
    df["first_seen"] = pd.to_datetime(df["first_seen"], utc=True)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def json_strings(obj):
    """Every string in a parsed JSON value, object keys included (for privacy scans of exports)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from json_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from json_strings(v)


def luhn(digits: str) -> bool:
    """Luhn check (ISO/IEC 7812-1), written here independently of the product's redactor."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0
