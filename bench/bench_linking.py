"""Linking stage alone at 1M accounts with a 25,000-account campaign among them (target: <= 2 min).

Usage (from the repository root)::

    /tmp/venv/bin/python bench/bench_linking.py [--accounts 1M] [--campaign-accounts 25k] [--requests 2M]

Generates (once, cached) a bulk log with that many accounts: ``--campaign-share`` of the requests
from the campaign accounts, the rest spread over the benign accounts (lognormal activity, so many
benign accounts send one or two requests and some none). Then, in this process:

1. ingest the Parquet file and the accounts file (the real readers), IP intelligence (the real
   ``add_ip_intel``), the request signals (``build_request_features``: classifier, fingerprints,
   template mining) and the account features, exactly as ``scan`` does, so the linking inputs
   cannot drift from the pipeline's (an earlier version rebuilt a few columns by hand and broke
   when linking started reading the classifier's columns);
2. time the linking stage exactly as ``scan`` runs it: ``build_artifacts`` (artifact table, hub
   pruning, lockstep MinHash) and ``communities`` (Leiden), and report the peak RSS of the
   process (``resource.getrusage``; the preparation included), the stage's CPU seconds
   (``time.process_time``, all threads) and how many campaign accounts share a community with at
   least 49 other campaign accounts.

Prints the figures and rewrites the ``scale:linking`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from collections import Counter

from common import ROOT, bulk_log, machine, parse_size, save_results, size_label, write_section

sys.path.insert(0, str(ROOT / "src"))


def measure(n_accounts: int, campaign_accounts: int, n_requests: int, seed: int = 0,
            campaign_share: float = 0.25, memory_limit: str | None = "8GB") -> dict:
    """Generate (cached) the bulk log, prepare the linking inputs and time the linking stage.

    Returns:
        the figures: ``accounts``, ``accounts_with_requests``, ``campaign_accounts``, ``requests``,
        ``prepare_s``, ``artifacts_s``, ``communities_s``, ``linking_s`` (seconds, wall),
        ``linking_cpu_s`` (CPU seconds, all threads), ``edges`` (kept account-artifact edges),
        ``peak_rss_bytes`` (this process's high-water mark) and
        ``campaign_accounts_in_big_communities`` (campaign accounts sharing a community with at
        least 49 others), plus ``machine``.

    Raises:
        RuntimeError: generating the log failed.
    """
    from distillwatch.engine import get_engine
    from distillwatch.features.account_features import build_account_features
    from distillwatch.features.request_features import add_ip_intel, build_request_features
    from distillwatch.ingest.requests import read_requests
    from distillwatch.ingest.tables import read_accounts
    from distillwatch.intel import load_intel
    from distillwatch.linkage.graph import LinkParams, build_artifacts, communities

    na, nc, n = n_accounts, campaign_accounts, n_requests
    d, man = bulk_log(n, seed, campaign_accounts=nc, benign_accounts=na - nc, campaign_share=campaign_share)
    m0 = machine()
    eng = get_engine("duckdb", memory_limit=memory_limit)
    t = time.perf_counter()
    read_requests(eng, d / "requests.parquet")
    read_accounts(eng, d / "accounts.jsonl")
    add_ip_intel(eng, load_intel(None))
    build_request_features(eng)
    build_account_features(eng, has_accounts=True, has_releases=False)  # makes template_accounts, as in scan
    prep_s = time.perf_counter() - t
    n_acc = int(eng.scalar("SELECT count(DISTINCT account_id) FROM req_features"))
    lp = LinkParams()
    t, c0 = time.perf_counter(), time.process_time()
    edges = build_artifacts(eng, True, lp)
    t_art = time.perf_counter() - t
    t = time.perf_counter()
    comm = communities(edges, lp)
    t_comm = time.perf_counter() - t
    cpu_link = time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    eng.close()
    with open(d / "truth.csv") as fh:
        attack = {row["account_id"] for row in csv.DictReader(fh) if row["label"] == "attack"}
    camp_in = Counter(c for acct, c in comm.items() if acct in attack)
    big = {c for c, k in camp_in.items() if k >= 50}
    caught = sum(1 for acct, c in comm.items() if acct in attack and c in big)
    return {"accounts": man["n_accounts"], "accounts_with_requests": n_acc, "campaign_accounts": nc, "requests": n,
            "prepare_s": round(prep_s, 2), "artifacts_s": round(t_art, 2), "communities_s": round(t_comm, 2),
            "linking_s": round(t_art + t_comm, 2), "linking_cpu_s": round(cpu_link, 2), "edges": len(edges),
            "peak_rss_bytes": peak, "campaign_accounts_in_big_communities": caught, "machine": m0}


def main() -> None:
    """Measure at the given sizes, print the figures and write the section."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", default="1M", help="total accounts")
    ap.add_argument("--campaign-accounts", default="25k")
    ap.add_argument("--requests", default="2M")
    ap.add_argument("--campaign-share", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-limit", default="8GB")
    a = ap.parse_args()
    na, nc, n = parse_size(a.accounts), parse_size(a.campaign_accounts), parse_size(a.requests)
    res = measure(na, nc, n, a.seed, a.campaign_share, a.memory_limit)
    m0, n_acc, peak, caught = res["machine"], res["accounts_with_requests"], res["peak_rss_bytes"], \
        res["campaign_accounts_in_big_communities"]
    edges_n = res["edges"]
    save_results("linking", {size_label(na): res})
    body = "\n".join([
        "### Linking stage at 1M accounts (`bench/bench_linking.py`)", "",
        "Command: `/tmp/venv/bin/python bench/bench_linking.py --accounts 1M --campaign-accounts 25k --requests 2M`. "
        "Target: the linking stage <= 2 min at 1M accounts. Times are of `build_artifacts` + `communities`, as in "
        "`scan`; the inputs are prepared by the real readers and the real request-signal stage (classifier, "
        "fingerprints, template mining).", "",
        "| accounts (with requests) | campaign accounts | requests | kept edges | artifacts s | Leiden s | "
        "linking s | linking CPU s | peak RSS GiB (whole process) | campaign accounts in communities with >= 50 of them |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {res['accounts']:,} ({n_acc:,}) | {nc:,} | {size_label(n)} | {edges_n:,} | {res['artifacts_s']} | "
        f"{res['communities_s']} | {res['linking_s']} | {res['linking_cpu_s']} | {peak / 2**30:.2f} | {caught:,} of {nc:,} |", "",
        f"Measured {m0['date_utc']} UTC on {m0['cpus']} CPUs / {m0['mem_gib']} GiB shared with other jobs "
        f"(1-minute load {m0['load_avg_1m']} at the start)."])
    write_section("linking", body)
    print(body)


if __name__ == "__main__":
    main()
