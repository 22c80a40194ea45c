"""The main job: scan a request log, find and link campaigns, score, explain and write outputs.

``scan()`` is the Python API behind ``distillwatch scan``. Stages, each its own module:
ingest (:mod:`distillwatch.ingest`) -> IP intelligence (:mod:`distillwatch.intel`) -> per-request
signals (:mod:`distillwatch.features.request_features`) -> per-account features and signals
(:mod:`distillwatch.features.account_features`, :mod:`distillwatch.signals.account`) -> linking
(:mod:`distillwatch.linkage`) -> scoring (:mod:`distillwatch.scoring`) -> outputs
(:mod:`distillwatch.report`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from distillwatch import __version__
from distillwatch.engine import get_engine
from distillwatch.errors import InputError
from distillwatch.features.account_features import build_account_features
from distillwatch.features.request_features import add_ip_intel, build_request_features
from distillwatch.ingest.requests import INVALID_JSON, NOT_A_JSON_OBJECT, IngestResult, read_requests
from distillwatch.ingest.tables import read_accounts, read_releases
from distillwatch.linkage.campaigns import Group, candidate_groups
from distillwatch.linkage.graph import LinkParams, build_artifacts, communities
from distillwatch.signals import SIGNALS
from distillwatch.scoring.risk import (ScoreParams, account_signal_hits, combine_risk, family_scores,
                                      lone_account_hits, tier_for)

STAGES = ("ingest", "ip_intel", "request_signals", "account_features", "account_signals", "linking",
          "campaigns", "scoring", "outputs")
"""Pipeline stage names, in order; ``summary.json`` reports a timing for each (seconds)."""



@dataclass
class ScanResult:
    """Everything a scan produced.

    Attributes:
        accounts: one row per account seen: ``account_id, risk, tier, campaign_id, requests, reasons``
            plus family scores (``content``, ``infrastructure``, ``behaviour``, ``identity``),
            ``evidence`` (list of sentences) and ``held_clear`` (a lone account left ``clear`` although
            its risk reached review: a one-off burst or too few requests; its evidence says which).
        campaigns: list of campaign dicts (the ``campaigns.json`` contract).
        summary: counts, timings (seconds), data versions.
        out_dir: where outputs were written, if anywhere.
    """

    accounts: pd.DataFrame
    campaigns: list[dict]
    summary: dict
    out_dir: Path | None = None
    groups: list[Group] = field(default_factory=list)


def scan(requests: str | Path, out: str | Path | None = None, accounts: str | Path | None = None,
         releases: str | Path | None = None, intel_dir: str | Path | None = None, engine: str = "duckdb",
         memory_limit: str | None = None, link_params: LinkParams | None = None,
         score_params: ScoreParams | None = None, progress: Callable[[str], object] | None = None,
         write_report: bool = True, indicators: str | Path | None = None,
         share_key: bytes | None = None, engine_options: dict | None = None,
         distribution_tests: bool = False) -> ScanResult:
    """Run the whole pipeline on one requests file.

    Args:
        requests: JSON Lines or Parquet file following ``docs/input-format.md``.
        out: output directory (created); ``None`` returns results without writing files.
        accounts: optional accounts file (JSON Lines or CSV).
        releases: optional releases file (JSON Lines).
        intel_dir: IP-intelligence directory (layout of ``shared/data/ip``); ``None`` searches the
            default locations (see :func:`distillwatch.intel.load_intel`).
        engine: ``"duckdb"`` or ``"spark"`` (see ``docs/scaling.md``).
        memory_limit: DuckDB memory cap such as ``"8GB"`` (Spark: driver memory and the ingest DuckDB's cap).
        link_params, score_params: override linking / scoring thresholds.
        progress: callback receiving each stage name as it starts (the CLI drives a Rich display).
        write_report: also render ``report.md`` and ``report.html``.
        indicators: partner indicators (JSON Lines from ``distillwatch import stix``); matches feed
            the ``account.partner_template`` and ``account.partner_infrastructure`` signals.
        share_key: the key agreed with partners, needed to match template fingerprints.
        distribution_tests: also run the window MMD test and topic coverage per account
            (``account.window_mmd``, ``account.topic_coverage``): text embeddings for every request
            and a reference sample. Off by default: on the scenario suite they added no detection
            the other signals lacked and roughly doubled scan time (``docs/evaluation.md``).
        engine_options: more engine settings, e.g. ``{"master": "spark://host:7077"}`` for Spark
            (see :func:`distillwatch.engine.get_engine`).

    Returns:
        :class:`ScanResult`.

    Raises:
        InputError: a file is missing or unreadable, or no request row is valid.
        distillwatch.intel.IntelError: ``intel_dir`` exists but holds no known intel files.
    """
    from distillwatch.intel import load_intel

    lp, sp = link_params or LinkParams(), score_params or ScoreParams()
    made_out = bool(out) and not Path(out).exists()
    if out:
        _prepare_out(Path(out))
    try:
        eng = get_engine(engine, memory_limit=memory_limit, **(engine_options or {}))
    except (ValueError, ImportError) as exc:
        if made_out:  # a refused engine setting leaves no empty output folder behind
            Path(out).rmdir()
        raise InputError(str(exc)) from exc
    timings: dict[str, float] = {}
    peaks: dict[str, int] = {}
    t_all = time.perf_counter()

    try:
        def stage(name):
            if progress:
                progress(name)
            return _Timer(timings, name, peaks)

        ing: list[IngestResult] = []
        # what each ingest result holds, in order (a releases file without accounts is second)
        kinds = ["request"] + ["account"] * bool(accounts) + ["release"] * bool(releases)
        try:
            with stage("ingest"):
                ing.append(eng.ingest(read_requests, requests, "requests"))
                if accounts:
                    ing.append(eng.ingest(read_accounts, accounts, "accounts"))
                if releases:
                    ing.append(eng.ingest(read_releases, releases, "releases"))
            for r, what in zip(ing, kinds):
                if r.rows_accepted == 0:
                    first = r.quarantine[0] if r.quarantine else None
                    why = (f"first problem: line {first['line']}: {first['reason']}" if first else "the file has no rows")
                    # the format hint only when the first problem is the format itself (a new-user trial saw it
                    # under a valid releases file that lacked released_at)
                    hint = (" (JSON Lines expected: one JSON object per line)"
                            if what != "account" and first and first["reason"] in (INVALID_JSON, NOT_A_JSON_OBJECT)
                            else "")
                    raise InputError(f"{r.file}: no valid {what} rows ({r.rows_read} read, {len(r.quarantine)} "
                                     f"quarantined; {why}){hint}")
        except InputError as exc:
            if out and _has_results(Path(out)):
                # an earlier scan's results are not replaced by a refused run's error files
                raise InputError(f"{exc} ({out} still holds the previous scan's results, unchanged)") from exc
            if out:
                _clear_outputs(Path(out))
                _write_failure(Path(out), ing, exc)
            raise
        with stage("ip_intel"):
            intel = load_intel(intel_dir)
            n_ips = add_ip_intel(eng, intel)
        with stage("request_signals"):
            build_request_features(eng)
        with stage("account_features"):
            feats = build_account_features(eng, has_accounts=bool(accounts), has_releases=bool(releases))
            indicator_report = None
            if distribution_tests:
                from distillwatch.features.embed import build_request_embeddings
                from distillwatch.signals.distribution import distribution_features_from_engine

                build_request_embeddings(eng)
                feats = feats.merge(distribution_features_from_engine(eng), on="account_id", how="left")
            if indicators:
                feats, indicator_report = _add_partner_matches(feats, eng, indicators, share_key)
        with stage("account_signals"):
            _, own_hits = account_signal_hits(feats)
            lone_hits = lone_account_hits(feats, own_hits)
            feats["content"] = [family_scores(own_hits[a])["content"] for a in feats["account_id"]]
        with stage("linking"):
            edges = build_artifacts(eng, bool(accounts), lp)
            comm = communities(edges, lp)
        with stage("campaigns"):
            groups = candidate_groups(comm, edges, feats, sp.campaign_min_accounts, sp.min_exclusivity)
            _decide_campaigns(groups, feats, sp)
            # every kept edge is no longer needed (groups keep their own): free it before the outputs
            link_stats = {"link_edges": int(len(edges)), "hub_limit_accounts": edges.attrs.get("hub_limit")}
            del edges, comm
        with stage("scoring"):
            acc = _score_accounts(feats, own_hits, groups, sp, lone_hits)
            campaigns = [_campaign_record(g, feats, eng) for g in groups if g.is_campaign]
        summary = _summary(ing, acc, campaigns, timings, intel, n_ips, eng, link_stats, groups)
        summary["peak_rss_bytes_after_stage"] = peaks
        if indicator_report:
            summary["indicators"] = indicator_report
        result = ScanResult(acc, campaigns, summary, Path(out) if out else None, groups)
        if out:
            from distillwatch.report.dossier import render_dossier
            from distillwatch.report.manifest import write_manifest
            from distillwatch.report.writer import write_outputs, write_summary

            with stage("outputs"):
                _clear_outputs(Path(out))  # only now: a run that fails earlier leaves the last results whole
                write_outputs(result, eng, ing)
            summary["timings_s"]["outputs"] = round(timings["outputs"], 3)
            summary["timings_s"]["total"] = round(time.perf_counter() - t_all, 3)
            write_summary(result)
            if write_report:
                # report.html / report.md are the dossier, rendered from the files above once they are
                # final: its source table gives summary.json's SHA-256, so the summary is not rewritten
                # after it (its timings therefore end with the result files)
                if progress:
                    progress("report")
                render_dossier(out, "html", Path(out) / "report.html")
                render_dossier(out, "md", Path(out) / "report.md")
            write_manifest(Path(out), {"requests": requests, "accounts": accounts, "releases": releases,
                                       "indicators": indicators},
                           {"engine": engine, "memory_limit": memory_limit,
                            "engine_options": {k: (str(Path(v).resolve()) if k in ("work_dir", "staging_dir") else v)
                                               for k, v in (engine_options or {}).items() if v is not None},
                            "link_params": lp, "score_params": sp,
                            "distribution_tests": distribution_tests,
                            "intel_dir": str(intel_dir) if intel_dir else None}, summary)
        else:
            summary["timings_s"]["total"] = round(time.perf_counter() - t_all, 3)
        return result
    finally:
        eng.close()


OUTPUT_FILES = ("accounts.csv", "campaigns.json", "explanations.jsonl", "quarantine.jsonl", "summary.json",
                "report.md", "report.html", "evaluation.json", "manifest.json", "campaign_members.parquet",
                "campaign_daily.parquet", "campaign_artifacts.parquet", "campaign_edges.parquet",
                "account_meta.parquet", "campaign_examples.parquet")
"""Files a scan (and ``evaluate``) write into the output directory; a new scan removes old copies first."""


def _prepare_out(out: Path) -> None:
    """Create ``out`` and check it is a writable directory; a previous run's outputs stay for now.

    They are removed by :func:`_clear_outputs` just before the new ones are written, so a scan
    refused for a bad input, engine setting or work folder, or one that fails in any stage before
    its outputs, leaves an earlier scan's results untouched.

    Raises:
        InputError: ``out`` is a file or cannot be written.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out must be a directory, and this is a file")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".distillwatch-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"{out}: output directory is not writable: {exc.strerror or exc}") from exc


def _has_results(out: Path) -> bool:
    """True when ``out`` holds a previous scan's results (its ``manifest.json``)."""
    return (out / "manifest.json").is_file()


def _clear_outputs(out: Path) -> None:
    """Remove a previous run's output files (:data:`OUTPUT_FILES`) from ``out``; other files stay.

    Raises:
        InputError: a file cannot be removed.
    """
    try:
        for name in OUTPUT_FILES:
            (out / name).unlink(missing_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot replace the previous results: {exc.strerror or exc}") from exc


def _write_failure(out: Path, ing: list[IngestResult], exc: Exception) -> None:
    """On a failed run, still write ``quarantine.jsonl`` and a ``summary.json`` that records the error."""
    import orjson

    with open(out / "quarantine.jsonl", "wb") as fh:
        for r in ing:
            for q in r.quarantine:
                fh.write(orjson.dumps(q) + b"\n")
    files = [{"file": r.file, "rows_read": r.rows_read, "rows_accepted": r.rows_accepted,
              "rows_quarantined": len(r.quarantine), "reconciles": r.rows_read == r.rows_accepted + len(r.quarantine)}
             for r in ing]
    (out / "summary.json").write_bytes(orjson.dumps({"distillwatch_version": __version__, "error": str(exc),
                                                     "files": files}, option=orjson.OPT_INDENT_2))


class _Timer:
    """Times one stage into ``timings`` (seconds) and records the process's peak RSS so far into ``peaks``."""

    def __init__(self, timings: dict, name: str, peaks: dict | None = None):
        self.timings, self.name, self.peaks = timings, name, peaks

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.name] = time.perf_counter() - self.t0
        if self.peaks is not None:
            peak = peak_rss_bytes()
            if peak is not None:
                self.peaks[self.name] = peak
        return False


def peak_rss_bytes() -> int | None:
    """This process's peak resident set size so far, in bytes (``getrusage`` ``ru_maxrss``, which
    Linux reports in KiB and macOS in bytes); ``None`` where the ``resource`` module is missing (Windows).

    Read at the end of each stage, it shows which stage raised the high-water mark
    (``summary.json`` ``peak_rss_bytes_after_stage``), which a whole-run figure such as
    ``/usr/bin/time -v`` cannot. It counts this process only: with the Spark engine the JVM (driver
    and local executors) runs as a child process and is not included.
    """
    try:
        import resource
    except ImportError:
        return None
    import sys

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def _add_partner_matches(feats: pd.DataFrame, eng, indicators, share_key: bytes | None) -> pd.DataFrame:
    """Join partner-indicator matches (``distillwatch.share.stix.match_indicators``) onto the account features.

    Returns the features and a report (valid and invalid indicator lines, accounts matched) that
    goes into ``summary.json`` under ``indicators``.
    """
    from distillwatch.share.stix import match_indicators, read_indicators

    problems: list[str] = []
    valid = read_indicators(indicators, problems)
    m = match_indicators(indicators, eng, share_key=share_key).to_pandas()
    m = m.rename(columns={"n_matches": "partner_matches", "kinds": "partner_kinds", "indicator_ids": "partner_ids",
                          "n_requests": "partner_requests"})
    report = {"file": str(indicators), "valid": len(valid), "invalid": len(problems), "problems": problems[:20],
              "accounts_matched": int(len(m)), "template_key": share_key is not None}
    return feats.merge(m, on="account_id", how="left"), report


def _decide_campaigns(groups: list[Group], feats: pd.DataFrame, p: ScoreParams) -> None:
    """Mark groups that are campaigns and number them ``C0001``... by size (see scoring.risk)."""
    fi = feats.set_index("account_id")
    n = 0
    for g in sorted(groups, key=lambda g: (-len(g.accounts), g.accounts[0])):
        if (g.content_score() >= p.campaign_min_content and g.n_links() >= p.campaign_min_links
                and not _one_tenant(g, fi)):
            n += 1
            g.is_campaign, g.campaign_id = True, f"C{n:04d}"


def _one_tenant(g: Group, fi: pd.DataFrame) -> bool:
    """True when every member belongs to the same organisation and that organisation is verified.

    The organisation is the accounts file's ``org_id``, else the requests' most common ``org_id``;
    it is verified when at least one member has ``verification == "verified_org"``. A verified
    customer's several accounts or keys are one accountable principal, not a ring hiding behind
    many identities; its accounts are still scored one by one (and never banned automatically).
    An unverified organisation gets no such exemption: a reseller relaying extraction is one
    tenant too.
    """
    orgs = fi.loc[g.accounts, "acct_org_id"]
    if orgs.isna().any():
        orgs = orgs.fillna(fi.loc[g.accounts, "top_org_id"])
    verified = (fi.loc[g.accounts, "verification"] == "verified_org").any()
    return bool(orgs.notna().all() and orgs.nunique() == 1 and verified)


def _score_accounts(feats: pd.DataFrame, own_hits: dict, groups: list[Group], sp: ScoreParams,
                    lone_hits: dict | None = None) -> pd.DataFrame:
    """One row per account: risk, tier, reasons, family scores, evidence and ``held_clear`` (a lone
    account left ``clear`` although its risk reached ``review_risk``: a one-off burst or too few
    requests; its evidence says which).

    A campaign member is scored on its own hits plus its campaign's; an account in no campaign on
    its own hits, with ``lone_hits`` (from :func:`~distillwatch.scoring.risk.lone_account_hits`)
    replacing them where chain-of-thought came from a crowd's system prompt.
    """
    camp_of = {a: g for g in groups if g.is_campaign for a in g.accounts}
    lone_hits = lone_hits or {}
    rows = []
    for rec in feats.itertuples(index=False):
        a = rec.account_id
        g = camp_of.get(a)
        lone = lone_hits.get(a) if g is None else None
        hits = list(lone[0] if lone else own_hits[a]) + ([h for h in g.hits if h.score > 0] if g else [])
        fam = family_scores(hits)
        risk = combine_risk(fam, sp.base)
        burst = getattr(rec, "burst_share", None)
        tier = tier_for(risk, fam, None if g is None else g.n_links(),
                        rec.verification if isinstance(rec.verification, str) else None, sp,
                        None if burst is None or burst != burst else float(burst), int(rec.n_requests))
        hits.sort(key=lambda h: -h.score * SIGNALS[h.signal_id].weight)
        evidence = [f"{h.signal_id}: {h.evidence}" for h in hits if h.score > 0]
        if g is not None and a in g.weak:
            if tier == "ban":
                tier = "review"
            evidence.append(f"attached to {g.campaign_id} by one extraction-pure artifact only (its harness "
                            f"fingerprint or template); held at review, never banned on that link alone")
        if lone:
            evidence.append(lone[1])
        held_clear = tier == "clear" and g is None and risk >= sp.review_risk
        if held_clear:
            if int(rec.n_requests) < sp.lone_min_requests:
                evidence.append(f"not flagged on its own: {int(rec.n_requests)} requests are too few to judge a lone "
                                f"account (at least {sp.lone_min_requests}) and it links to no other account")
            else:
                evidence.append(f"not flagged on its own: one burst ({float(burst):.0%} of its requests on two "
                                f"consecutive UTC days) and linking tied it to no campaign (an eval run or batch job "
                                f"looks the same)")
        rows.append({"account_id": a, "risk": round(risk, 6), "tier": tier,
                     "campaign_id": g.campaign_id if g else "", "requests": int(rec.n_requests),
                     "reasons": ";".join(h.signal_id for h in hits if h.score > 0),
                     **{f: round(v, 6) for f, v in fam.items()}, "evidence": evidence, "held_clear": held_clear})
    df = pd.DataFrame(rows)
    return df.sort_values(["risk", "account_id"], ascending=[False, True]).reset_index(drop=True)


def _campaign_record(g: Group, feats: pd.DataFrame, eng) -> dict:
    """One ``campaigns.json`` entry; counts come from the request table, not from estimates."""
    import pyarrow as pa

    eng.register("campaign_members", pa.table({"account_id": g.accounts}))
    stats = eng.table("""
        SELECT count(*) AS n, min(ts) AS first_seen, max(ts) AS last_seen,
               avg(is_proxy::INT) AS proxy_share, count(DISTINCT client_ip) AS n_ips,
               count(DISTINCT asn) AS n_asns, count(DISTINCT ip_country) AS n_countries
        FROM req_features WHERE account_id IN (SELECT account_id FROM campaign_members)""").to_pylist()[0]
    caps = eng.table("""
        SELECT capability, count(*) AS n FROM req_features
        WHERE account_id IN (SELECT account_id FROM campaign_members) GROUP BY capability ORDER BY n DESC, capability""").to_pylist()
    asns = eng.table("""
        SELECT asn, any_value(as_org) AS as_org, count(*) AS n FROM req_features
        WHERE account_id IN (SELECT account_id FROM campaign_members) AND asn IS NOT NULL
        GROUP BY asn ORDER BY n DESC, asn LIMIT 5""").to_pylist()
    total = stats["n"]
    off = _operator_offset(feats.set_index("account_id").loc[g.accounts, "inferred_utc_offset"])
    kinds = g.link_families()
    score = round(combine_risk(family_scores(g.hits)), 6)
    return {
        "campaign_id": g.campaign_id,
        "accounts": g.accounts,
        "n_accounts": len(g.accounts),
        "n_requests": int(total),
        "first_seen": _iso(stats["first_seen"]),
        "last_seen": _iso(stats["last_seen"]),
        "capabilities": {c["capability"]: round(c["n"] / total, 4) for c in caps},
        "proxy_share": round(float(stats["proxy_share"] or 0.0), 4),
        "n_client_ips": int(stats["n_ips"]),
        "n_asns": int(stats["n_asns"]),
        "n_ip_countries": int(stats["n_countries"]),
        "top_asns": [{"asn": int(x["asn"]), "org": x["as_org"], "requests": int(x["n"]),
                      "share": round(x["n"] / total, 4)} for x in asns],
        "inferred_utc_offset": off,
        "evidence": [f"{h.signal_id}: {h.evidence}" for h in sorted(g.hits, key=lambda h: -h.score) if h.score > 0],
        "signals": {h.signal_id: {"value": round(h.value, 6), "score": round(h.score, 6), "family": h.family}
                    for h in g.hits},
        "link_families": kinds,
        "score": score,
    }


def _operator_offset(offsets: pd.Series) -> int | None:
    """The members' common inferred UTC offset (hours), or None.

    The most common offset is reported only when at least half of the members with an inferred
    offset lie within 1 h of it (circular); scattered offsets (accounts spread over time zones, or
    round-the-clock automation) give None rather than a misleading mode.
    """
    offs = offsets.dropna().astype(int)
    if len(offs) < 3:
        return None
    mode = int(offs.mode().sort_values().iat[0])
    near = offs.map(lambda o: min(abs(o - mode) % 24, 24 - abs(o - mode) % 24) <= 1)
    return mode if near.mean() >= 0.5 else None


def _iso(ts) -> str | None:
    if ts is None:
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(ing, acc, campaigns, timings, intel, n_ips, eng, link_stats, groups) -> dict:
    """The ``summary.json`` content: per-file reconciliation, tier counts, timings (s), data versions."""
    req = ing[0]
    files = []
    for r in ing:
        files.append({"file": r.file, "rows_read": r.rows_read, "rows_accepted": r.rows_accepted,
                      "rows_quarantined": len(r.quarantine),
                      "reconciles": r.rows_read == r.rows_accepted + len(r.quarantine)})
    tiers = acc["tier"].value_counts().to_dict()
    from datetime import datetime, timezone

    return {
        "distillwatch_version": __version__,
        "scanned_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "engine": eng.dialect,
        "rows_read": req.rows_read,
        "rows_scored": req.rows_accepted,
        "rows_quarantined": len(req.quarantine),
        "reconciles": req.rows_read == req.rows_accepted + len(req.quarantine),
        "files": files,
        "accounts": int(len(acc)),
        "tiers": {t: int(tiers.get(t, 0)) for t in ("ban", "review", "clear")},
        "campaigns": len(campaigns),
        "candidate_groups": len(groups),
        "distinct_ips": n_ips,
        **link_stats,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "data_versions": {"intel_source": getattr(intel, "source", None),
                          "intel_description": (f"directory {intel.source}" if intel.source != "none" else
                                                "built-in table of published ranges (no IP data directory found)"),
                          "intel_files": getattr(intel, "versions", {}),
                          "intel_attributions": list(getattr(intel, "attributions", []))},
    }
