"""Linking at 1M accounts with a 25,000-account campaign among them (target: linking <= 2 min).

Usage (from the repository root)::

    /tmp/venv/bin/python bench/bench_linking.py [--accounts 1000000] [--campaign-accounts 25000] [--requests 2M]

Generates (once, cached) a bulk log with that many accounts: ``--campaign-share`` of the requests
from the campaign accounts, the rest spread over the benign accounts (lognormal activity, so many
benign accounts send one or two requests). Runs ``distillwatch scan`` on it under
``/usr/bin/time -v`` and reports the ``linking`` stage (artifact table, hub pruning, lockstep
MinHash, Leiden) and the ``campaigns`` stage from ``summary.json``, plus how many of the campaign
accounts end up in a campaign (from the scan's accounts.csv and the generator's truth.csv).
Prints the figures and rewrites the ``scale:linking`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil

from common import DATA, PY, bulk_log, gib, machine, parse_size, save_results, size_label, timed, write_section


def main() -> None:
    """Generate, scan, read the stage timings, print and write the section."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", default="1M", help="total accounts")
    ap.add_argument("--campaign-accounts", default="25k")
    ap.add_argument("--requests", default="2M")
    ap.add_argument("--campaign-share", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-limit", default=None)
    a = ap.parse_args()
    na, nc, n = parse_size(a.accounts), parse_size(a.campaign_accounts), parse_size(a.requests)
    d, man = bulk_log(n, a.seed, campaign_accounts=nc, benign_accounts=na - nc, campaign_share=a.campaign_share)
    m0 = machine()
    out = DATA / f"linking_{size_label(na)}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [PY, "-m", "distillwatch.cli", "scan", str(d / "requests.parquet"), "--out", str(out),
           "--accounts", str(d / "accounts.jsonl")] + (["--memory-limit", a.memory_limit] if a.memory_limit else [])
    r = timed(cmd)
    summary = json.loads((out / "summary.json").read_text())
    with open(d / "truth.csv") as fh:
        attack = {row["account_id"] for row in csv.DictReader(fh) if row["label"] == "attack"}
    with open(out / "accounts.csv") as fh:
        rows = list(csv.DictReader(fh))
    in_campaign = {row["account_id"] for row in rows if row.get("campaign_id")}
    seen = {row["account_id"] for row in rows}
    res = {"accounts": man["n_accounts"], "accounts_with_requests": len(seen), "campaign_accounts": nc,
           "requests": n, "linking_s": summary["timings_s"].get("linking"), "campaigns_s": summary["timings_s"].get("campaigns"),
           "stage_s": summary["timings_s"], "scan_wall_s": r["wall_s"], "scan_cpu_s": r.get("cpu_s"), "scan_peak_rss_bytes": r["peak_rss_bytes"],
           "campaign_recall": round(len(attack & in_campaign) / max(1, len(attack & seen)), 4),
           "benign_in_campaigns": len(in_campaign - attack), "machine": m0}
    save_results("linking", {size_label(na): res})
    shutil.rmtree(out, ignore_errors=True)
    body = "\n".join([
        "### Linking at scale (`bench/bench_linking.py`)", "",
        "Command: `/tmp/venv/bin/python bench/bench_linking.py --accounts 1M --campaign-accounts 25k --requests 2M`. "
        "Target: the linking stage <= 2 min at 1M accounts.", "",
        "| accounts (with requests) | campaign accounts | requests | linking s | campaigns s | whole scan s | "
        "peak RSS GiB | campaign accounts put in a campaign | benign accounts put in a campaign |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {res['accounts']:,} ({res['accounts_with_requests']:,}) | {nc:,} | {size_label(n)} | {res['linking_s']} | "
        f"{res['campaigns_s']} | {r['wall_s']} (CPU {r.get('cpu_s')}) | {gib(r['peak_rss_bytes'])} | {res['campaign_recall']:.1%} | "
        f"{res['benign_in_campaigns']} |", "",
        f"All stages (s): {json.dumps(summary['timings_s'])}.", "",
        f"Measured {m0['date_utc']} UTC on {m0['cpus']} CPUs / {m0['mem_gib']} GiB shared with other jobs "
        f"(1-minute load {m0['load_avg_1m']} at the start)."])
    write_section("linking", body)
    print(body)


if __name__ == "__main__":
    main()
