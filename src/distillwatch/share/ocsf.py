"""SIEM output: each flagged account and each campaign as an OCSF Detection Finding.

:func:`export_ocsf` reads a results directory (``summary.json``, ``accounts.csv``,
``explanations.jsonl``, ``campaigns.json`` and the evidence tables of
:mod:`distillwatch.report.evidence`) and writes JSON Lines, one OCSF 1.5.0 Detection Finding
(category 2 Findings, class 2004, activity 1 Create, type 200401) per account of tier ``ban`` or
``review`` and per campaign. :func:`validate_ocsf` checks such a file line by line, against the
rules of the pinned schema written out here and, when the PyPI package ``py-ocsf-models`` is
installed, against its ``DetectionFinding`` pydantic model. ``docs/siem.md`` has the mapping table.

Privacy: a finding carries identifiers (account ids, campaign ids, template and fingerprint
hashes), network artifacts (client IPs, ASNs, user agents), counts, scores and the evidence
sentences, never request or response text, template skeleton text, emails, signup IPs or payment
fingerprints. Every string written passes :func:`_clean`, which withholds email- and card-like
text, payment fingerprints and any string sharing 30 characters with the example requests kept in
the results directory; :func:`validate_ocsf` rejects a line holding any of them.
"""

from __future__ import annotations

import csv
import hashlib
import ipaddress
import json
import re
import time as _time
from datetime import datetime, timezone
from pathlib import Path

from distillwatch.errors import InputError
from distillwatch.report.redact import luhn_ok
from typing import Any

OCSF_VERSION = "1.5.0"
"""The OCSF schema version the findings follow (``metadata.version``); also the version that
``py-ocsf-models`` 0.10.0 models."""

PY_OCSF_MODELS_VERSION = "0.10.0"
"""The ``py-ocsf-models`` release the validation was written against."""

CATEGORY_UID = 2          # Findings
CLASS_UID = 2004          # Detection Finding
ACTIVITY_ID = 1           # Create
TYPE_UID = CLASS_UID * 100 + ACTIVITY_ID  # 200401

SEVERITY = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal",
            99: "Other"}
RISK_LEVEL = {0: "Info", 1: "Low", 2: "Medium", 3: "High", 4: "Critical", 99: "Other"}
CONFIDENCE = {0: "Unknown", 1: "Low", 2: "Medium", 3: "High", 99: "Other"}
STATUS = {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived", 99: "Other"}
ACTIVITY = {0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"}
ANALYTIC_TYPE = {0: "Unknown", 1: "Rule", 2: "Behavioral", 3: "Statistical", 4: "Learning (ML/DL)",
                 5: "Fingerprinting", 6: "Tagging", 7: "Keyword Match", 8: "Regular Expressions",
                 9: "Exact Data Match", 10: "Partial Data Match", 11: "Indexed Data Match", 99: "Other"}
VERDICT = {0: "Unknown", 1: "False Positive", 2: "True Positive", 3: "Disregard", 4: "Suspicious", 5: "Benign",
           6: "Test", 7: "Insufficient Data", 8: "Security Risk", 9: "Managed Externally", 10: "Duplicate",
           99: "Other"}
OBS_IP, OBS_RESOURCE_UID, OBS_OTHER = 2, 10, 99
OBSERVABLE_TYPE_IDS = set(range(0, 31)) | {99}
"""Observable ``type_id`` values accepted by :func:`validate_ocsf` (the long-standing ids 0-30 and 99).
User agents and ASNs go out as 99 Other with ``type`` "HTTP User-Agent" / "Autonomous System Number":
``py-ocsf-models`` 0.10.0 lists only 0-10, 20-30 and 99, so OCSF's 16 (HTTP User-Agent) would not
validate there; the user agent is also at its proper attribute, ``evidences[].http_request.user_agent``."""

UA_TYPE_ID = OBS_OTHER
ASN_TYPE_ID = OBS_OTHER

MAX_IPS_ACCOUNT = 20
MAX_IPS_CAMPAIGN = 25
MAX_ASNS = 10
MAX_USER_AGENTS = 10

FINDING_TYPE = "LLM Distillation"

# Detection Finding 1.5.0 attributes (finding + base event + class) that an exported line may carry.
_TOP_LEVEL = {
    "activity_id", "activity_name", "category_name", "category_uid", "class_name", "class_uid", "comment",
    "confidence", "confidence_id", "confidence_score", "count", "duration", "end_time", "end_time_dt",
    "enrichments", "evidences", "finding_info", "impact", "impact_id", "impact_score", "message", "metadata",
    "observables", "raw_data", "remediation", "resources", "risk_details", "risk_level", "risk_level_id",
    "risk_score", "severity", "severity_id", "start_time", "start_time_dt", "status", "status_code",
    "status_detail", "status_id", "time", "time_dt", "timezone_offset", "type_name", "type_uid", "unmapped",
    "vulnerabilities", "malware", "api", "cloud", "actor", "device",
}
_REQUIRED = ("activity_id", "category_uid", "class_uid", "finding_info", "metadata", "severity_id", "time",
             "type_uid")
_EVIDENCE_ANY = ("actor", "api", "connection_info", "data", "database", "databucket", "device", "dst_endpoint",
                 "email", "file", "process", "query", "resources", "src_endpoint", "url", "user", "job", "script")
_EVIDENCE_KEYS = set(_EVIDENCE_ANY) | {"name", "uid", "verdict", "verdict_id", "http_request", "http_response",
                                       "container", "tls"}

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD_RE = re.compile(r"(?<![0-9A-Za-z.])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z.])")
_PMFP_RE = re.compile(r"pmfp_[A-Za-z0-9]+")
_SHINGLE = 30
WITHHELD = "[withheld]"


class _Cleaner:
    """Strings leave the exporter through here: privacy-sensitive text is withheld, not written."""

    def __init__(self, protected: list[str]):
        self.shingles: set[str] = set()
        for text in protected:
            t = text or ""
            for i in range(0, max(0, len(t) - _SHINGLE + 1)):
                self.shingles.add(t[i:i + _SHINGLE])

    def __call__(self, s: Any) -> str | None:
        if s is None:
            return None
        s = str(s)
        s = _EMAIL_RE.sub(WITHHELD, s)
        s = _PMFP_RE.sub(WITHHELD, s)
        s = _CARD_RE.sub(WITHHELD, s)
        if self.shingles and len(s) >= _SHINGLE and any(s[i:i + _SHINGLE] in self.shingles
                                                      for i in range(len(s) - _SHINGLE + 1)):
            return WITHHELD
        return s


def _strings(o: Any):
    if isinstance(o, str):
        yield o
    elif isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from _strings(v)
    elif isinstance(o, list):
        for v in o:
            yield from _strings(v)


def privacy_problems(rec: Any) -> list[str]:
    """Email-, payment-fingerprint- or (Luhn-valid) card-number-like text in any string of ``rec``."""
    out: set[str] = set()
    for s in _strings(rec):
        if _EMAIL_RE.search(s):
            out.add("privacy: email-like text")
        if _PMFP_RE.search(s):
            out.add("privacy: payment fingerprint")
        if any(luhn_ok(re.sub(r"\D", "", m.group())) for m in _CARD_RE.finditer(s)):
            out.add("privacy: card-number-like digits")
    return sorted(out)


# --- mapping rules (documented in docs/siem.md) --------------------------------------------------

def account_severity(tier: str, campaign_id: str | None) -> int:
    """``ban`` in a campaign -> 5 Critical (action now, broad scope); ``ban`` alone -> 4 High;
    ``review`` -> 3 Medium; anything else -> 1 Informational."""
    if tier == "ban":
        return 5 if campaign_id else 4
    if tier == "review":
        return 3
    return 1


def campaign_severity(score: float) -> int:
    """Campaign score >= 0.9 -> 5 Critical; >= 0.7 -> 4 High; otherwise 3 Medium (every campaign is
    already a flagged group)."""
    if score >= 0.9:
        return 5
    if score >= 0.7:
        return 4
    return 3


def risk_level(risk: float) -> int:
    """Risk (0-1) to ``risk_level_id``: >= 0.9 Critical, >= 0.8 High (the ban threshold), >= 0.6 Medium
    (the review threshold), >= 0.3 Low, else Info."""
    if risk >= 0.9:
        return 4
    if risk >= 0.8:
        return 3
    if risk >= 0.6:
        return 2
    if risk >= 0.3:
        return 1
    return 0


def confidence_level(score: int) -> int:
    """``confidence_score`` (0-100) to ``confidence_id``: >= 75 High, >= 50 Medium, else Low."""
    return 3 if score >= 75 else 2 if score >= 50 else 1


FAMILIES = ("content", "infrastructure", "behaviour", "identity")


def _families_confidence(scores: dict[str, float]) -> int:
    """Share of the four evidence families (content, infrastructure, behaviour, identity) scoring >= 0.5,
    as 0-100: how many independent kinds of evidence agree."""
    return int(round(100 * sum(1 for f in FAMILIES if float(scores.get(f) or 0.0) >= 0.5) / len(FAMILIES)))


# --- reading the results directory ---------------------------------------------------------------

def _ms(v: Any) -> int | None:
    if v is None:
        return None
    try:
        import pandas as pd

        if pd.isna(v):
            return None
        ts = pd.Timestamp(v)
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return int(ts.value // 1_000_000)
    except (ValueError, TypeError):
        return None


def _read_parquet(path: Path):
    import pandas as pd

    if not path.exists():
        return None
    return pd.read_parquet(path)


def _scan_time_ms(results: Path, summary: dict) -> int:
    for key in ("scanned_at", "scan_time", "finished_at", "generated_at", "created_at"):
        if summary.get(key):
            ms = _ms(summary[key]) if not isinstance(summary[key], (int, float)) else int(summary[key])
            if ms:
                return ms
    p = results / "summary.json"
    if p.exists():
        return int(p.stat().st_mtime * 1000)
    return int(_time.time() * 1000)


def _scan_digest(summary: dict) -> str:
    """Hash of the scan summary without its timings: the same inputs and outputs give the same uids."""
    s = {k: v for k, v in summary.items() if k != "timings_s"}
    return hashlib.sha256(json.dumps(s, sort_keys=True, default=str).encode()).hexdigest()


def _uid(digest: str, kind: str, entity: str) -> str:
    return hashlib.sha256(f"{digest}\0{kind}\0{entity}".encode()).hexdigest()


def _strip_day(artifact: str) -> str:
    return artifact.rsplit("@", 1)[0]


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


# --- building findings ---------------------------------------------------------------------------

def _base(*, uid: str, t: int, severity_id: int, title: str, desc: str, types: list[str], analytic_uid: str,
          signals: list[str], first_ms: int | None, last_ms: int | None, risk: float, confidence: int,
          product: dict, data_sources: list[str], count: int | None) -> dict:
    score = int(round(100 * min(1.0, max(0.0, risk))))
    rl = risk_level(risk)
    info: dict[str, Any] = {
        "uid": uid,
        "title": title,
        "desc": desc,
        "types": types,
        "analytic": {"uid": analytic_uid, "name": ", ".join(signals) or analytic_uid, "type_id": 1,
                     "type": ANALYTIC_TYPE[1]},
        "related_analytics": [{"uid": s, "name": s, "type_id": 1, "type": ANALYTIC_TYPE[1]} for s in signals],
        "created_time": t,
        "data_sources": data_sources,
    }
    if first_ms is not None:
        info["first_seen_time"] = first_ms
    if last_ms is not None:
        info["last_seen_time"] = last_ms
    rec: dict[str, Any] = {
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "class_uid": CLASS_UID, "class_name": "Detection Finding",
        "activity_id": ACTIVITY_ID, "activity_name": ACTIVITY[ACTIVITY_ID],
        "type_uid": TYPE_UID, "type_name": "Detection Finding: Create",
        "time": t,
        "severity_id": severity_id, "severity": SEVERITY[severity_id],
        "status_id": 1, "status": STATUS[1],
        "confidence_score": confidence, "confidence_id": confidence_level(confidence),
        "confidence": CONFIDENCE[confidence_level(confidence)],
        "risk_score": score, "risk_level_id": rl, "risk_level": RISK_LEVEL[rl],
        "message": title,
        "finding_info": info,
        "metadata": {"version": OCSF_VERSION, "uid": uid, "product": product,
                     "labels": ["distillwatch", "llm-distillation"]},
    }
    if first_ms is not None:
        rec["start_time"] = first_ms
    if last_ms is not None:
        rec["end_time"] = last_ms
    if count is not None:
        rec["count"] = int(count)
    return rec


def _ip_evidence(ip: str, data: dict) -> dict:
    return {"name": "client_ip", "src_endpoint": {"ip": ip}, "data": data, "verdict_id": 4, "verdict": VERDICT[4]}


def export_ocsf(results_dir, out_path, product_name: str = "distillwatch", product_version: str | None = None) -> dict:
    """Write one OCSF 1.5.0 Detection Finding per flagged account (tier ban/review) and per campaign of
    the results directory ``results_dir`` to ``out_path`` (JSON Lines).

    Returns ``{"path", "records", "accounts", "campaigns", "ocsf_version", "problems"}`` where
    ``problems`` is :func:`validate_ocsf` on the written file (empty when every line is valid).

    Raises:
        InputError: ``results_dir`` is not a complete results directory (``accounts.csv``,
            ``campaigns.json`` and ``summary.json`` are required).
    """
    results, out_path = Path(results_dir), Path(out_path)
    if not results.is_dir():
        raise InputError(f"{results}: not a results directory")
    for need in ("accounts.csv", "campaigns.json", "summary.json"):
        if not (results / need).is_file():
            raise InputError(f"{results}: no {need}; is this a complete distillwatch results directory?")
    summary = json.loads((results / "summary.json").read_text())
    t = _scan_time_ms(results, summary)
    digest = _scan_digest(summary)
    if product_version is None:
        product_version = summary.get("distillwatch_version")
        if not product_version:
            from distillwatch import __version__ as product_version
    product = {"name": product_name, "vendor_name": product_name, "version": str(product_version)}
    data_sources = sorted({Path(f["file"]).name for f in summary.get("files", []) if f.get("file")})

    examples = _read_parquet(results / "campaign_examples.parquet")
    protected = [] if examples is None or "user_text" not in examples else [str(x) for x in examples["user_text"]
                                                                               if isinstance(x, str)]
    clean = _Cleaner(protected)

    with open(results / "accounts.csv", newline="") as fh:
        accounts = [r for r in csv.DictReader(fh) if r.get("tier") in ("ban", "review")]
    explanations: dict[str, dict] = {}
    if (results / "explanations.jsonl").exists():
        with open(results / "explanations.jsonl") as fh:
            for line in fh:
                if line.strip():
                    e = json.loads(line)
                    explanations[e["account_id"]] = e
    camp_doc = json.loads((results / "campaigns.json").read_text()) if (results / "campaigns.json").exists() else {}
    campaigns = camp_doc.get("campaigns", []) if isinstance(camp_doc, dict) else list(camp_doc)

    meta = _read_parquet(results / "account_meta.parquet")
    meta_by = {} if meta is None else {r["account_id"]: r for r in meta.to_dict("records")}
    edges = _read_parquet(results / "campaign_edges.parquet")
    acct_ips: dict[str, list[str]] = {}
    if edges is not None and len(edges):
        ipd = edges[edges["kind"] == "ip_day"]
        for acc, art in zip(ipd["account_id"], ipd["artifact"]):
            ip = _strip_day(str(art))
            if _is_ip(ip) and ip not in acct_ips.setdefault(acc, []):
                acct_ips[acc].append(ip)
    arts = _read_parquet(results / "campaign_artifacts.parquet")

    records: list[dict] = []
    for row in sorted(accounts, key=lambda r: r["account_id"]):
        aid = row["account_id"]
        tier = row["tier"]
        cid = row.get("campaign_id") or None
        risk = float(row.get("risk") or 0.0)
        ex = explanations.get(aid, {})
        sentences = [clean(s) for s in ex.get("evidence", [])]
        signals = [s for s in (row.get("reasons") or "").split(";") if s]
        fams = {f: float(ex.get(f) or 0.0) for f in FAMILIES}
        m = meta_by.get(aid, {})
        first_ms, last_ms = _ms(m.get("first_seen")), _ms(m.get("last_seen"))
        n_req = int(row.get("requests") or m.get("n_requests") or 0)
        title = f"LLM distillation: account {aid} ({tier})" + (f", campaign {cid}" if cid else "")
        rec = _base(uid=_uid(digest, "account", aid), t=t, severity_id=account_severity(tier, cid), title=clean(title),
                    desc="\n".join(s for s in sentences if s) or clean(title), types=[FINDING_TYPE, "Account"],
                    analytic_uid="distillwatch.account_risk", signals=signals, first_ms=first_ms, last_ms=last_ms,
                    risk=risk, confidence=_families_confidence(fams), product=product, data_sources=data_sources,
                    count=n_req)
        resource = {"uid": aid, "name": aid, "type": "account", "labels": [f"tier:{tier}"] + ([f"campaign:{cid}"]
                                                                                            if cid else [])}
        rec["resources"] = [resource]
        evid = [{"name": "account_summary", "resources": [{"uid": aid, "type": "account"}],
                 "data": {"tier": tier, "risk": round(risk, 6), "requests": n_req, "campaign_id": cid,
                          "families": fams, "signals": signals},
                 "verdict_id": 4 if tier == "review" else 8, "verdict": VERDICT[4 if tier == "review" else 8]}]
        obs = [{"name": "resources[0].uid", "type_id": OBS_RESOURCE_UID, "type": "Resource UID", "value": aid}]
        for ip in acct_ips.get(aid, [])[:MAX_IPS_ACCOUNT]:
            evid.append(_ip_evidence(ip, {"source": "campaign linking evidence (shared egress address)"}))
            obs.append({"name": f"evidences[{len(evid) - 1}].src_endpoint.ip", "type_id": OBS_IP,
                        "type": "IP Address", "value": ip})
        rec["evidences"] = evid
        rec["observables"] = obs
        unm = {"entity_type": "account", "account_id": aid, "tier": tier, "risk": round(risk, 6),
               "campaign_id": cid, "requests": n_req, "families": fams, "signals": signals,
               "n_linking_ips": len(acct_ips.get(aid, [])), "scan_digest": digest}
        for k in ("org_id", "verification"):
            v = m.get(k)
            if isinstance(v, str) and v:
                unm[k] = clean(v)
        if m.get("created_at") is not None:
            unm["account_created_time"] = _ms(m.get("created_at"))
        rec["unmapped"] = {"distillwatch": unm}
        records.append(rec)

    for c in campaigns:
        cid = c["campaign_id"]
        score = float(c.get("score") or 0.0)
        sigs = c.get("signals") or {}
        fired = [s for s, v in sigs.items() if float((v or {}).get("score") or 0.0) > 0.0]
        fam_best: dict[str, float] = {}
        for v in sigs.values():
            f = (v or {}).get("family")
            if f:
                fam_best[f] = max(fam_best.get(f, 0.0), float(v.get("score") or 0.0))
        first_ms, last_ms = _ms(c.get("first_seen")), _ms(c.get("last_seen"))
        members = list(c.get("accounts", []))
        title = f"LLM distillation campaign {cid}: {c.get('n_accounts', len(members))} accounts"
        rec = _base(uid=_uid(digest, "campaign", cid), t=t, severity_id=campaign_severity(score), title=clean(title),
                    desc="\n".join(x for x in (clean(s) for s in c.get("evidence", [])) if x) or clean(title),
                    types=[FINDING_TYPE, "Campaign"], analytic_uid="distillwatch.campaign_linkage", signals=fired,
                    first_ms=first_ms, last_ms=last_ms, risk=score, confidence=_families_confidence(fam_best),
                    product=product, data_sources=data_sources, count=c.get("n_requests"))
        rec["resources"] = [{"uid": a, "name": a, "type": "account", "labels": [f"campaign:{cid}"]} for a in members]
        top_asns = [{"asn": int(x["asn"]), "org": clean(x.get("org")), "requests": int(x.get("requests") or 0),
                     "share": float(x.get("share") or 0.0)} for x in (c.get("top_asns") or [])[:MAX_ASNS]]
        evid: list[dict] = [{
            "name": "campaign_summary",
            "data": {"campaign_id": cid, "n_accounts": int(c.get("n_accounts") or len(members)),
                     "n_requests": int(c.get("n_requests") or 0), "n_client_ips": c.get("n_client_ips"),
                     "n_asns": c.get("n_asns"), "n_ip_countries": c.get("n_ip_countries"),
                     "proxy_share": c.get("proxy_share"), "top_asns": top_asns},
            "verdict_id": 8, "verdict": VERDICT[8]}]
        obs = []
        for i, a in enumerate(members):
            obs.append({"name": f"resources[{i}].uid", "type_id": OBS_RESOURCE_UID, "type": "Resource UID", "value": a})
        for j, x in enumerate(top_asns):
            obs.append({"name": f"evidences[0].data.top_asns[{j}].asn", "type_id": ASN_TYPE_ID,
                        "type": "Autonomous System Number", "value": str(x["asn"])})
        proxies = []
        if arts is not None and len(arts):
            ca = arts[arts["campaign_id"] == cid]
            ips = ca[ca["kind"] == "ip"].sort_values(["n_requests", "value"], ascending=[False, True])
            for r in ips.head(MAX_IPS_CAMPAIGN).to_dict("records"):
                ip = str(r["value"])
                if not _is_ip(ip):
                    continue
                evid.append(_ip_evidence(ip, {"n_requests": int(r["n_requests"]), "n_accounts": int(r["n_accounts"]),
                                              "first_seen_time": _ms(r["first_seen"]),
                                              "last_seen_time": _ms(r["last_seen"])}))
                obs.append({"name": f"evidences[{len(evid) - 1}].src_endpoint.ip", "type_id": OBS_IP,
                            "type": "IP Address", "value": ip})
            uas = ca[ca["kind"] == "user_agent"].sort_values(["n_requests", "value"], ascending=[False, True])
            for r in uas.head(MAX_USER_AGENTS).to_dict("records"):
                ua = clean(r["value"])
                if not ua or ua == WITHHELD:
                    continue
                evid.append({"name": "user_agent", "http_request": {"user_agent": ua},
                             "data": {"n_requests": int(r["n_requests"]), "n_accounts": int(r["n_accounts"])},
                             "verdict_id": 4, "verdict": VERDICT[4]})
                obs.append({"name": f"evidences[{len(evid) - 1}].http_request.user_agent", "type_id": UA_TYPE_ID,
                            "type": "HTTP User-Agent", "value": ua})
            for r in ca[ca["kind"] == "proxy"].to_dict("records"):
                provider = clean(r["detail"]) if isinstance(r["detail"], str) else None
                proxies.append({"kind": clean(r["value"]), "provider": provider, "n_requests": int(r["n_requests"])})
        rec["evidences"] = evid
        rec["observables"] = obs
        rec["unmapped"] = {"distillwatch": {
            "entity_type": "campaign", "campaign_id": cid, "score": score, "n_accounts": c.get("n_accounts"),
            "n_requests": c.get("n_requests"), "capabilities": c.get("capabilities"),
            "link_families": c.get("link_families"), "inferred_utc_offset": c.get("inferred_utc_offset"),
            "signals": {s: {"value": v.get("value"), "score": v.get("score"), "family": v.get("family")}
                        for s, v in sigs.items()},
            "proxies": proxies, "scan_digest": digest}}
        records.append(rec)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n")
    problems = validate_ocsf(out_path)
    return {"path": str(out_path), "records": len(records), "accounts": len(accounts), "campaigns": len(campaigns),
            "ocsf_version": OCSF_VERSION, "problems": problems}


def _json_default(o: Any):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, datetime):
        return o.astimezone(timezone.utc).isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --- validation ----------------------------------------------------------------------------------

def _check_enum(rec: dict, key: str, enum: dict, problems: list[str], where: str = "") -> None:
    if key in rec and rec[key] not in enum:
        problems.append(f"{where}{key}={rec[key]!r} is not an OCSF {OCSF_VERSION} value")


def _check_int_range(rec: dict, key: str, lo: int, hi: int, problems: list[str], where: str = "") -> None:
    if key in rec:
        v = rec[key]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            problems.append(f"{where}{key}={v!r} is not an integer in {lo}-{hi}")


def _check_time(d: dict, key: str, problems: list[str], where: str = "") -> None:
    if key in d and d[key] is not None:
        v = d[key]
        if not isinstance(v, int) or isinstance(v, bool) or not 10 ** 11 <= v < 10 ** 14:
            problems.append(f"{where}{key}={v!r} is not a timestamp in milliseconds")


def _structural_problems(rec: Any) -> list[str]:
    p: list[str] = []
    if not isinstance(rec, dict):
        return ["not a JSON object"]
    for k in _REQUIRED:
        if k not in rec:
            p.append(f"missing required attribute {k}")
    for k in rec:
        if k not in _TOP_LEVEL:
            p.append(f"{k} is not a Detection Finding attribute")
    if rec.get("category_uid") != CATEGORY_UID:
        p.append(f"category_uid={rec.get('category_uid')!r}, expected {CATEGORY_UID} (Findings)")
    if rec.get("class_uid") != CLASS_UID:
        p.append(f"class_uid={rec.get('class_uid')!r}, expected {CLASS_UID} (Detection Finding)")
    _check_enum(rec, "activity_id", ACTIVITY, p)
    cu, ai = rec.get("class_uid"), rec.get("activity_id")
    if isinstance(cu, int) and isinstance(ai, int) and rec.get("type_uid") != cu * 100 + ai:
        p.append(f"type_uid={rec.get('type_uid')!r} != class_uid*100+activity_id ({cu * 100 + ai})")
    if isinstance(cu, int) and isinstance(rec.get("category_uid"), int) and cu // 1000 != rec["category_uid"]:
        p.append(f"class_uid={cu} does not belong to category_uid={rec['category_uid']}")
    _check_enum(rec, "severity_id", SEVERITY, p)
    _check_enum(rec, "status_id", STATUS, p)
    _check_enum(rec, "risk_level_id", RISK_LEVEL, p)
    _check_enum(rec, "confidence_id", CONFIDENCE, p)
    for cap_key, id_key, enum in (("severity", "severity_id", SEVERITY), ("status", "status_id", STATUS),
                                  ("risk_level", "risk_level_id", RISK_LEVEL),
                                  ("confidence", "confidence_id", CONFIDENCE),
                                  ("activity_name", "activity_id", ACTIVITY)):
        if cap_key in rec and rec.get(id_key) in enum and rec.get(id_key) != 99 and rec[cap_key] != enum[rec[id_key]]:
            p.append(f"{cap_key}={rec[cap_key]!r} is not the caption of {id_key}={rec[id_key]}")
    _check_int_range(rec, "risk_score", 0, 100, p)
    _check_int_range(rec, "confidence_score", 0, 100, p)
    for k in ("time", "start_time", "end_time"):
        _check_time(rec, k, p)
    md = rec.get("metadata")
    if not isinstance(md, dict):
        p.append("metadata is not an object")
    else:
        if md.get("version") != OCSF_VERSION:
            p.append(f"metadata.version={md.get('version')!r}, expected {OCSF_VERSION}")
        prod = md.get("product")
        if not isinstance(prod, dict) or not prod.get("vendor_name") or not prod.get("name"):
            p.append("metadata.product needs name and vendor_name")
    fi = rec.get("finding_info")
    if not isinstance(fi, dict):
        p.append("finding_info is not an object")
    else:
        for k in ("uid", "title"):
            if not isinstance(fi.get(k), str) or not fi.get(k):
                p.append(f"finding_info.{k} missing")
        for k in ("first_seen_time", "last_seen_time", "created_time"):
            _check_time(fi, k, p, "finding_info.")
        for i, an in enumerate([fi.get("analytic")] + list(fi.get("related_analytics") or [])):
            if an is None:
                continue
            w = "finding_info.analytic." if i == 0 else f"finding_info.related_analytics[{i - 1}]."
            if not isinstance(an, dict) or "type_id" not in an:
                p.append(f"{w}type_id missing")
            else:
                _check_enum(an, "type_id", ANALYTIC_TYPE, p, w)
    for i, ev in enumerate(rec.get("evidences") or []):
        w = f"evidences[{i}]."
        if not isinstance(ev, dict):
            p.append(f"{w[:-1]} is not an object")
            continue
        if not any(ev.get(k) is not None for k in _EVIDENCE_ANY):
            p.append(f"{w[:-1]} needs at least one of {', '.join(_EVIDENCE_ANY)}")
        for k in ev:
            if k not in _EVIDENCE_KEYS:
                p.append(f"{w}{k} is not an Evidence Artifacts attribute")
        _check_enum(ev, "verdict_id", VERDICT, p, w)
        se = ev.get("src_endpoint")
        if se is not None:
            if not isinstance(se, dict) or not se.get("ip"):
                p.append(f"{w}src_endpoint needs ip")
            elif not _is_ip(str(se["ip"])):
                p.append(f"{w}src_endpoint.ip={se['ip']!r} is not an IP address")
    for i, r in enumerate(rec.get("resources") or []):
        if not isinstance(r, dict) or not (r.get("uid") or r.get("name")):
            p.append(f"resources[{i}] needs uid or name")
    for i, o in enumerate(rec.get("observables") or []):
        w = f"observables[{i}]."
        if not isinstance(o, dict) or not o.get("name") or "type_id" not in o:
            p.append(f"{w[:-1]} needs name and type_id")
            continue
        if o["type_id"] not in OBSERVABLE_TYPE_IDS:
            p.append(f"{w}type_id={o['type_id']!r} is not an observable type")
        if o["type_id"] == OBS_IP and not _is_ip(str(o.get("value"))):
            p.append(f"{w}value={o.get('value')!r} is not an IP address")
    return p


def ocsf_models_available() -> bool:
    """Whether ``py-ocsf-models`` can be imported (it is an optional dependency)."""
    import importlib.util

    try:
        return importlib.util.find_spec("py_ocsf_models.events.findings.detection_finding") is not None
    except ImportError:
        return False


def model_problems(rec: dict) -> list[str]:
    """``py-ocsf-models``' ``DetectionFinding`` validation errors for one record (``[]`` when it validates).

    Raises ``ImportError`` when the package is not installed.
    """
    from pydantic import ValidationError
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    try:
        DetectionFinding.model_validate(rec)
    except ValidationError as e:
        return [f"py-ocsf-models: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
    return []


def validate_ocsf(path) -> list[str]:
    """Problems of an OCSF Detection Finding JSON Lines file, as ``"line N: problem"`` strings; ``[]`` when valid.

    Checks each line against the pinned OCSF 1.5.0 rules (required attributes, class/category/type
    consistency, enum values, score ranges, millisecond times, evidence and observable shapes), the
    privacy rule (no email-, card- or payment-fingerprint-like text) and, when ``py-ocsf-models`` is
    installed, its ``DetectionFinding`` model.
    """
    use_models = ocsf_models_available()
    problems: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                problems.append(f"line {n}: empty line")
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"line {n}: not JSON ({e.msg})")
                continue
            found = _structural_problems(rec) + privacy_problems(rec)
            if use_models and isinstance(rec, dict):
                found += model_problems(rec)
            problems.extend(f"line {n}: {x}" for x in found)
    return problems
