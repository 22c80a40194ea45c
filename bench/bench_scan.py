"""End-to-end scan benchmark at several log sizes, against the floor (a DuckDB scan that only reads).

Usage (from the repository root)::

    /tmp/venv/bin/python bench/bench_scan.py 1M 4M 16M 28.8M [--memory-limit 4GB] [--work-dir DIR] [--seed 0]

For each size: generate the bulk log once (``distillwatch simulate --requests N``, cached under
``$DISTILLWATCH_BENCH_DATA``), run ``distillwatch scan`` on its ``requests.parquet`` with the
accounts file under ``/usr/bin/time -v`` (wall time, peak RSS), read the per-stage timings from
``summary.json``, then run the floor on the same file: a fresh DuckDB process that reads the
Parquet file and computes ``count(*)`` and the total length (characters) of all message
contents. Prints the table and rewrites the ``scale:scan`` section of docs/benchmarks.md from
all stored results (bench/results/scan.json), so sizes run on different days accumulate.
"""

from __future__ import annotations

import argparse
import json
import shutil

import time

from common import (DATA, PY, bulk_log, failure_reason, gib, load_results, machine, parse_size, parse_time_v,
                    save_results, size_label, timed, write_section)

FLOOR_SQL = ("SELECT count(*) AS n, sum(list_sum(list_transform(messages, lambda m: length(m.content)))) AS chars "
             "FROM read_parquet('{path}')")
"""The floor: read the file and measure it (row count and total message characters), nothing else."""


def run_size(n: int, seed: int, memory_limit: str | None, keep: bool, reuse: bool = False,
             work_dir: str | None = None) -> dict:
    """Generate (if needed), scan and floor-scan one size; return its figures.

    ``reuse``: when this size's scan output and its ``time -v`` log are already there (a run that
    stopped after the scan), take the scan's figures from them instead of scanning again; a log of
    a scan that failed (no summary.json) is recorded as that failure.

    A scan that fails is recorded too, as "did not finish" with its wall time, CPU time, peak RSS and
    reason (:func:`common.failure_reason`); the floor is still measured.
    """
    d, man = bulk_log(n, seed)
    out = DATA / f"scan_{size_label(n)}_s{seed}"
    log = DATA / f"scan_{size_label(n)}.log"
    m0 = machine()
    if reuse and log.exists() and ((out / "summary.json").exists() or "Command terminated by signal" in log.read_text()
                                   or "Command exited with non-zero status" in log.read_text()):
        err = log.read_text().split("---- stderr ----", 1)[-1]
        r = parse_time_v(err)
        r["failure"] = None if (out / "summary.json").exists() and "error" not in json.loads(
            (out / "summary.json").read_text()) else failure_reason(err)
        m0["date_utc"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(log.stat().st_mtime - r["wall_s"]))
        m0["load_avg_1m"] = None
        m0["reused_scan"] = True
    else:
        shutil.rmtree(out, ignore_errors=True)
        cmd = [PY, "-m", "distillwatch.cli", "scan", str(d / "requests.parquet"), "--out", str(out),
               "--accounts", str(d / "accounts.jsonl")]
        if memory_limit:
            cmd += ["--memory-limit", memory_limit]
        if work_dir:
            cmd += ["--work-dir", work_dir]
        r = timed(cmd, log=log, check=False)
    summary = json.loads((out / "summary.json").read_text()) if not r.get("failure") else {}
    floor_code = ("import duckdb, json; c = duckdb.connect(); c.execute(\"SET enable_progress_bar=false\"); "
                  f"print(json.dumps(c.sql({FLOOR_SQL.format(path=d / 'requests.parquet')!r}).fetchall()[0]))")
    f = timed([PY, "-c", floor_code])
    n_floor, chars = json.loads(f["stdout"].strip().splitlines()[-1])
    files = summary.get("files") or []
    req_file = next((x for x in files if str(x.get("file", "")).endswith("requests.parquet")), {})
    res = {
        "requests": n, "rows_read": req_file.get("rows_read"), "rows_quarantined": req_file.get("rows_quarantined"),
        "accounts": man["n_accounts"], "campaign_accounts": man["campaign_accounts"],
        "parquet_mb": round((d / "requests.parquet").stat().st_size / 1e6, 1),
        "generator_s": man.get("generator_wall_s"), "generator_rows_per_s": round(n / man["generator_wall_s"])
        if man.get("generator_wall_s") else None,
        "scan_wall_s": r["wall_s"], "scan_cpu_s": r.get("cpu_s"), "scan_peak_rss_bytes": r["peak_rss_bytes"],
        "failed": r.get("failure"),
        "scan_req_per_s": None if r.get("failure") else round(n / r["wall_s"]),
        "us_per_request": None if r.get("failure") else round(1e6 * r["wall_s"] / n, 2),
        "floor_wall_s": f["wall_s"], "floor_rows": n_floor, "floor_content_chars": chars,
        "floor_peak_rss_bytes": f["peak_rss_bytes"],
        "ratio_to_floor": None if r.get("failure") else round(r["wall_s"] / f["wall_s"], 2),
        "stage_s": summary.get("timings_s", {}), "stage_peak_rss_bytes": summary.get("peak_rss_bytes_after_stage", {}),
        "memory_limit": memory_limit, "work_dir": bool(work_dir),
        "campaigns_found": None if r.get("failure") else len(json.loads((out / "campaigns.json").read_text())),
        "machine": m0,
    }
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return res


def render(results: dict) -> str:
    """Markdown for the scale:scan section from all stored results."""
    rows = sorted(results.values(), key=lambda x: x["requests"])
    base = next((x for x in rows if x["requests"] == 1_000_000 and not x.get("failed")), None)
    lines = ["### End-to-end scan vs the floor (`bench/bench_scan.py`)", "",
             "Command: `/tmp/venv/bin/python bench/bench_scan.py 1M 4M 16M 28.8M` (each size's log is generated "
             "once by `distillwatch simulate --requests N` and cached). Targets: >= 48,000 req/s, peak RSS <= 12 GiB, "
             "<= 3x the floor, time per request at 28.8M within 20 % of 1M.", "",
             "| requests | accounts | Parquet MB | scan options | scan wall s | scan CPU s | req/s | peak RSS GiB | µs/request | "
             "vs 1M | floor s | scan / floor | campaigns | quarantined | load avg | measured (UTC) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        opts = " ".join(([f"--memory-limit {x['memory_limit']}"] if x.get("memory_limit") else [])
                        + (["--work-dir"] if x.get("work_dir") else [])) or "-"
        if x.get("failed"):
            lines.append(f"| {size_label(x['requests'])} | {x['accounts']:,} | {x['parquet_mb']} | {opts} | "
                         f"**did not finish** after {x['scan_wall_s']} s: {x['failed']} | {x.get('scan_cpu_s', '-')} | - | "
                         f"{gib(x['scan_peak_rss_bytes'])} | - | - | {x['floor_wall_s']} | - | - | - | "
                         f"{x['machine'].get('load_avg_1m') or '-'} | {x['machine']['date_utc']} |")
            continue
        vs = f"{x['us_per_request'] / base['us_per_request']:.2f}x" if base else "-"
        lines.append(f"| {size_label(x['requests'])} | {x['accounts']:,} | {x['parquet_mb']} | {opts} | {x['scan_wall_s']} | "
                     f"{x.get('scan_cpu_s', '-')} | {x['scan_req_per_s']:,} | {gib(x['scan_peak_rss_bytes'])} | {x['us_per_request']} | {vs} | "
                     f"{x['floor_wall_s']} | {x['ratio_to_floor']} | {x['campaigns_found']} | {x['rows_quarantined']} | "
                     f"{x['machine'].get('load_avg_1m') or '-'} | {x['machine']['date_utc']} |")
    lines += ["", "Per-stage seconds (from each scan's summary.json):", ""]
    order = ("ingest", "ip_intel", "request_signals", "account_features", "account_signals", "linking", "campaigns",
             "scoring", "outputs")  # distillwatch.pipeline.STAGES
    done = [x for x in rows if not x.get("failed")]
    stages = [s for s in order if any(s in x["stage_s"] for x in done)]
    lines.append("| requests | " + " | ".join(stages) + " | total |")
    lines.append("|---" * (len(stages) + 2) + "|")
    for x in done:
        lines.append(f"| {size_label(x['requests'])} | " + " | ".join(str(x["stage_s"].get(s, "-")) for s in stages)
                     + f" | {x['stage_s'].get('total', '-')} |")
    measured = [x for x in rows if x.get("stage_peak_rss_bytes")]
    if measured:
        lines += ["", "Peak RSS (GiB) reached by the end of each stage (summary.json `peak_rss_bytes_after_stage`; "
                      "the stage where the figure jumps is where the memory went):", ""]
        lines.append("| requests | " + " | ".join(stages) + " |")
        lines.append("|---" * (len(stages) + 1) + "|")
        for x in measured:
            p = x["stage_peak_rss_bytes"]
            lines.append(f"| {size_label(x['requests'])} | " + " | ".join(gib(p[s]) if s in p else "-" for s in stages) + " |")
    lines += ["", "Generator (`distillwatch simulate --requests N`, Parquet, zstd):", "",
              "| requests | wall s | rows/s |", "|---|---|---|"]
    for x in rows:
        lines.append(f"| {size_label(x['requests'])} | {x['generator_s']} | {x['generator_rows_per_s']:,} |")
    if rows:
        m = rows[-1]["machine"]
        lines += ["", f"Machine: {m['cpus']} CPUs, {m['mem_gib']} GiB, Python {m['python']}, DuckDB {m['duckdb']}. "
                      "The CPUs were shared with other jobs; `load avg` is the 1-minute load when the scan started."]
    return "\n".join(lines)


def main() -> None:
    """Parse the sizes, run each, store, print and write the section."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sizes", nargs="*", help="log sizes, e.g. 1M 4M 16M 28.8M (none: only re-render the stored results)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory cap passed to scan, e.g. 12GB")
    ap.add_argument("--keep", action="store_true", help="keep the scan output folders")
    ap.add_argument("--work-dir", default=None, help="passed to scan --work-dir (intermediates in a database file)")
    ap.add_argument("--reuse", action="store_true",
                    help="take a size's scan figures from its output folder and time -v log when a previous run "
                         "left them (e.g. it stopped at the floor); the floor is always run")
    a = ap.parse_args()
    results = load_results("scan")
    for s in a.sizes:
        n = parse_size(s)
        x = run_size(n, a.seed, a.memory_limit, a.keep, a.reuse, a.work_dir)
        results[size_label(n)] = x
        save_results("scan", results)
        if x.get("failed"):
            print(f"{size_label(n)}: scan did not finish after {x['scan_wall_s']} s ({x['failed']}), peak RSS "
                  f"{gib(x['scan_peak_rss_bytes'])} GiB; floor {x['floor_wall_s']} s", flush=True)
        else:
            print(f"{size_label(n)}: scan {x['scan_wall_s']} s ({x['scan_req_per_s']:,} req/s), peak RSS "
                  f"{gib(x['scan_peak_rss_bytes'])} GiB; floor {x['floor_wall_s']} s -> {x['ratio_to_floor']}x; "
                  f"stages {x['stage_s']}", flush=True)
    body = render(results)
    write_section("scan", body)
    print(body)


if __name__ == "__main__":
    main()
