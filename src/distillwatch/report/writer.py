"""Write the output contract of a scan into ``--out DIR``.

Files: ``accounts.csv``, ``campaigns.json``, ``explanations.jsonl``, ``quarantine.jsonl``,
``summary.json`` and the evidence tables (:mod:`distillwatch.report.evidence`). ``report.md`` and
``report.html`` are the campaign dossier (:mod:`distillwatch.report.dossier`) rendered from those
files once ``summary.json`` is written; reports compute no scores.
"""

from __future__ import annotations

import csv
from pathlib import Path

import orjson

from distillwatch.schema import ACCOUNTS_CSV_COLUMNS

def write_outputs(result, engine, ingest_results) -> None:
    """Write every output file of ``result`` into ``result.out_dir``.

    Args:
        result: a :class:`distillwatch.pipeline.ScanResult`.
        engine: the engine holding the scan's tables (``req_features``, ``requests``).
        ingest_results: the :class:`~distillwatch.ingest.requests.IngestResult` of each input file.
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
        # flagged accounts, and lone accounts held clear at a risk that reached review: their evidence
        # says why they were not flagged (a one-off burst, too few requests)
        shown = (explain["tier"] != "clear") | acc["held_clear"].to_numpy(dtype=bool)
        for rec in explain[shown].to_dict("records"):
            fh.write(orjson.dumps(rec) + b"\n")
    (out / "campaigns.json").write_bytes(orjson.dumps({"campaigns": result.campaigns}, option=orjson.OPT_INDENT_2))
    with open(out / "quarantine.jsonl", "wb") as fh:
        for r in ingest_results:
            for q in r.quarantine:
                fh.write(orjson.dumps(q) + b"\n")
    from distillwatch.report.evidence import write_evidence

    write_evidence(result, engine, out)


def write_summary(result) -> None:
    """Write ``summary.json`` (counts, reconciliation, timings in seconds, data versions)."""
    Path(result.out_dir, "summary.json").write_bytes(orjson.dumps(result.summary, option=orjson.OPT_INDENT_2))
