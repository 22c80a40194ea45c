"""bench/: failure reasons from GNU time output, and failed sizes in the rendered scan table."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_scan import render  # noqa: E402
from common import failure_reason, parse_time_v  # noqa: E402

KILLED = """Command terminated by signal 9
	Command being timed: "python -m distillwatch.cli scan x"
	User time (seconds): 2743.71
	System time (seconds): 355.53
	Elapsed (wall clock) time (h:mm:ss or m:ss): 36:14.03
	Maximum resident set size (kbytes): 21091192
	Exit status: 0
"""

EXITED = """error: work folder /x: not writable
Command exited with non-zero status 2
	Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.50
	Maximum resident set size (kbytes): 1024
"""


def test_failure_reason_and_figures_of_a_killed_and_a_refused_run():
    assert failure_reason(KILLED).startswith("killed by signal 9 (SIGKILL")
    assert failure_reason(EXITED) == "exit 2: error: work folder /x: not writable"
    r = parse_time_v(KILLED)
    assert r == {"wall_s": 36 * 60 + 14.03, "cpu_s": 3099.24, "peak_rss_bytes": 21091192 * 1024}


def _row(n, **kw):
    base = {"requests": n, "accounts": 10, "parquet_mb": 1.0, "memory_limit": "4GB", "work_dir": True,
            "scan_wall_s": 100.0, "scan_cpu_s": 120.0, "scan_req_per_s": n // 100, "scan_peak_rss_bytes": 2 ** 30,
            "us_per_request": 1e6 * 100.0 / n, "floor_wall_s": 1.0, "ratio_to_floor": 100.0, "campaigns_found": 1,
            "rows_quarantined": 0, "stage_s": {"ingest": 1.0, "total": 100.0}, "generator_s": 5.0,
            "generator_rows_per_s": n // 5, "machine": {"load_avg_1m": 1.0, "date_utc": "2026-11-29 17:00", "cpus": 2,
                                                        "mem_gib": 23.5, "python": "3.11", "duckdb": "2.0.1"}}
    return {**base, **kw}


def test_a_failed_size_is_a_did_not_finish_row_and_stays_out_of_the_stage_table():
    ok = _row(1_000_000)
    bad = _row(28_800_000, failed="killed by signal 9", scan_wall_s=2174.03, scan_req_per_s=None, us_per_request=None,
               ratio_to_floor=None, campaigns_found=None, stage_s={})
    text = render({"1M": ok, "28.8M": bad})
    line = next(ln for ln in text.splitlines() if ln.startswith("| 28.8M |") and "did not finish" in ln)
    assert "after 2174.03 s: killed by signal 9" in line and "| 1.00 |" in line  # peak RSS 1 GiB still shown
    stage_rows = text.split("Per-stage seconds", 1)[1].split("Generator", 1)[0]
    assert "| 1M |" in stage_rows and "| 28.8M |" not in stage_rows
