"""Write the output contract of a scan into ``--out DIR``.

Files: ``accounts.csv``, ``campaigns.json``, ``quarantine.jsonl``, ``summary.json``,
``report.md`` and a self-contained ``report.html`` (inline SVG plots, no external assets).
Reports render only from the scan's results and the request table; they compute no scores.
"""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pyarrow as pa

from distillwatch.schema import ACCOUNTS_CSV_COLUMNS

EXAMPLE_CHARS = 160
"""Longest user-text excerpt shown in a report (characters); the middle is elided."""


def write_outputs(result, engine, ingest_results, write_report: bool = True) -> None:
    """Write every output file of ``result`` into ``result.out_dir``.

    Args:
        result: a :class:`distillwatch.pipeline.ScanResult`.
        engine: the engine holding the scan's tables (``req_features``, ``requests``).
        ingest_results: the :class:`~distillwatch.ingest.requests.IngestResult` of each input file.
        write_report: also render ``report.md`` / ``report.html``.
    """
    out = Path(result.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    acc = result.accounts
    with open(out / "accounts.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(ACCOUNTS_CSV_COLUMNS)
        for r in acc.itertuples(index=False):
            w.writerow([r.account_id, f"{r.risk:.6f}", r.tier, r.campaign_id, r.requests, r.reasons])
    explain = acc[["account_id", "risk", "tier", "campaign_id", "content", "infrastructure", "behaviour",
                   "identity", "evidence"]]
    with open(out / "explanations.jsonl", "wb") as fh:
        for rec in explain[explain["tier"] != "clear"].to_dict("records"):
            fh.write(orjson.dumps(rec) + b"\n")
    (out / "campaigns.json").write_bytes(orjson.dumps({"campaigns": result.campaigns}, option=orjson.OPT_INDENT_2))
    with open(out / "quarantine.jsonl", "wb") as fh:
        for r in ingest_results:
            for q in r.quarantine:
                fh.write(orjson.dumps(q) + b"\n")
    from distillwatch.report.evidence import write_evidence

    write_evidence(result, engine, out)
    if write_report:
        from distillwatch.report.render import render_reports

        details = campaign_details(result, engine)
        render_reports(result, details, out)


def write_summary(result) -> None:
    """Write ``summary.json`` (counts, reconciliation, timings in seconds, data versions)."""
    Path(result.out_dir, "summary.json").write_bytes(orjson.dumps(result.summary, option=orjson.OPT_INDENT_2))


def shorten(text: str | None, n: int = EXAMPLE_CHARS) -> str:
    """Shorten ``text`` to at most ``n`` characters by eliding the middle with `` … ``."""
    text = " ".join((text or "").split())
    if len(text) <= n:
        return text
    half = (n - 3) // 2
    return text[:half] + " … " + text[-half:]


def campaign_details(result, engine) -> dict[str, dict]:
    """Per campaign: daily volume, per-day new models, ASN/proxy breakdown and template examples."""
    out = {}
    for c in result.campaigns:
        engine.register("campaign_members", pa.table({"account_id": c["accounts"]}))
        daily = engine.table("""
            SELECT date_trunc('day', ts)::DATE AS day, model, count(*) AS n FROM req_features
            WHERE account_id IN (SELECT account_id FROM campaign_members) GROUP BY ALL ORDER BY day, model""").to_pandas()
        proxies = engine.table("""
            SELECT coalesce(proxy_kind, 'residential/other') AS kind, coalesce(cloud_provider, '') AS provider,
                   count(*) AS n FROM req_features
            WHERE account_id IN (SELECT account_id FROM campaign_members) GROUP BY ALL ORDER BY n DESC LIMIT 8""").to_pandas()
        templates = engine.table("""
            WITH t AS (
              SELECT template_id, count(*) AS n, count(DISTINCT account_id) AS accounts, any_value(skeleton) AS skeleton,
                     any_value(request_id ORDER BY request_id) AS example
              FROM req_features WHERE account_id IN (SELECT account_id FROM campaign_members) AND template_id IS NOT NULL
              GROUP BY template_id ORDER BY n DESC, template_id LIMIT 3)
            SELECT t.*, r.user_text FROM t JOIN requests r ON r.request_id = t.example ORDER BY n DESC, template_id""").to_pandas()
        templates["user_text"] = templates["user_text"].map(shorten)
        templates["skeleton"] = templates["skeleton"].map(lambda s: shorten(s, 240))
        out[c["campaign_id"]] = {"daily": daily, "proxies": proxies, "templates": templates}
    return out
