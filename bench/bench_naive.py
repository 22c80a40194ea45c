"""distillwatch scan vs the naive peer (pandas + networkx, bench/naive_peer.py) on the same log, in one run.

Usage (from the repository root)::

    /tmp/venv/bin/python bench/bench_naive.py [1M] [--memory-limit 8GB]

Both run as subprocesses under ``/usr/bin/time -v`` (wall time, peak RSS) on the same bulk log
(generated once by ``distillwatch simulate --requests N`` and cached). The naive peer is killed
after ``--timeout`` seconds (default 3600) and then reported as "did not finish". Prints the
figures and rewrites the ``scale:naive`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from common import DATA, PY, bulk_log, gib, machine, parse_size, save_results, size_label, timed, write_section

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Run both on one size, print and write the section."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("size", nargs="?", default="1M")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--timeout", type=int, default=3600)
    a = ap.parse_args()
    n = parse_size(a.size)
    d, _ = bulk_log(n, a.seed)
    m0 = machine()
    out = DATA / f"naive_scan_{size_label(n)}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [PY, "-m", "distillwatch.cli", "scan", str(d / "requests.parquet"), "--out", str(out),
           "--accounts", str(d / "accounts.jsonl")] + (["--memory-limit", a.memory_limit] if a.memory_limit else [])
    ours = timed(cmd)
    stages = json.loads((out / "summary.json").read_text())["timings_s"]
    shutil.rmtree(out, ignore_errors=True)
    try:
        naive = timed(["timeout", str(a.timeout), PY, str(HERE / "naive_peer.py"), str(d / "requests.parquet"),
                       str(d / "accounts.jsonl")])
        nres = json.loads(naive["stdout"].strip().splitlines()[-1])
        finished = True
    except (RuntimeError, subprocess.SubprocessError, json.JSONDecodeError) as exc:
        naive, nres, finished = {"wall_s": None, "peak_rss_bytes": None}, {"error": str(exc)[-500:]}, False
    res = {"requests": n, "scan_wall_s": ours["wall_s"], "scan_cpu_s": ours.get("cpu_s"), "naive_cpu_s": naive.get("cpu_s"), "scan_peak_rss_bytes": ours["peak_rss_bytes"],
           "scan_stage_s": stages, "naive_wall_s": naive["wall_s"], "naive_peak_rss_bytes": naive["peak_rss_bytes"],
           "naive": nres, "naive_finished": finished, "timeout_s": a.timeout, "machine": m0,
           "speedup": round(naive["wall_s"] / ours["wall_s"], 2) if finished else None}
    save_results("naive", {size_label(n): res})
    nw = f"{naive['wall_s']}" if finished else f"did not finish in {a.timeout} s"
    body = "\n".join([
        "### distillwatch vs the naive peer (`bench/bench_naive.py`)", "",
        f"Command: `/tmp/venv/bin/python bench/bench_naive.py {a.size}` (both on the same bulk log, in one run; the naive "
        "peer is `bench/naive_peer.py`: pandas row-wise features and regexes, exact skeleton templates, an edge per "
        "account pair sharing an artifact in networkx, Louvain). Target: distillwatch >= 5x faster at 1M.", "",
        "| requests | distillwatch wall s | CPU s | peak RSS GiB | naive wall s | CPU s | naive peak RSS GiB | "
        "naive / distillwatch (wall) |",
        "|---|---|---|---|---|---|---|---|",
        f"| {size_label(n)} | {ours['wall_s']} | {ours.get('cpu_s')} | {gib(ours['peak_rss_bytes'])} | {nw} | "
        f"{naive.get('cpu_s', '-')} | {gib(naive['peak_rss_bytes'])} | {res['speedup'] if finished else '-'} |", "",
        f"Naive peer stages (s): {json.dumps(nres.get('timings_s', nres))}; account pairs enumerated: "
        f"{nres.get('pairs', '-')}.", "",
        f"distillwatch stages (s): {json.dumps(stages)}.", "",
        f"Measured {m0['date_utc']} UTC on {m0['cpus']} CPUs / {m0['mem_gib']} GiB shared with other jobs "
        f"(1-minute load {m0['load_avg_1m']} at the start)."])
    write_section("naive", body)
    print(body)


if __name__ == "__main__":
    main()
