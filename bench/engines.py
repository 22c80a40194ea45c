"""Scan one log with DuckDB and with Spark; print wall times and how far the answers differ.

Usage::

    PYTHONPATH=src python bench/engines.py DIR [--master local[2]] [--quick]

``DIR`` holds ``requests.jsonl`` (and optionally ``accounts.jsonl``, ``releases.jsonl``), e.g. from
``distillwatch simulate --out DIR --scale 0.03``. Printed: seconds per engine (wall clock, Spark
including session start-up), per-stage seconds, the largest absolute risk difference, whether
every account's tier and the campaigns (as sets of member sets) are equal.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    """Run both engines on ``DIR`` and print the comparison (see module doc)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--master", default="local[2]", help="Spark master URL")
    ap.add_argument("--quick", action="store_true", help="Spark QUICK_CONF (small local runs only)")
    a = ap.parse_args()

    from distillwatch.engine.spark import QUICK_CONF
    from distillwatch.pipeline import scan

    kw = {"write_report": False}
    for name in ("accounts", "releases"):
        if (a.dir / f"{name}.jsonl").exists():
            kw[name] = a.dir / f"{name}.jsonl"
    t0 = time.perf_counter()
    duck = scan(a.dir / "requests.jsonl", engine="duckdb", **kw)
    t_duck = time.perf_counter() - t0
    opts = {"master": a.master, "conf": dict(QUICK_CONF) if a.quick else None}
    t0 = time.perf_counter()
    sprk = scan(a.dir / "requests.jsonl", engine="spark", engine_options=opts, **kw)
    t_spark = time.perf_counter() - t0

    d = dict(zip(duck.accounts["account_id"], zip(duck.accounts["risk"], duck.accounts["tier"])))
    s = dict(zip(sprk.accounts["account_id"], zip(sprk.accounts["risk"], sprk.accounts["tier"])))
    same_accounts = d.keys() == s.keys()
    max_diff = max(abs(d[k][0] - s[k][0]) for k in d) if same_accounts else float("nan")
    tiers_equal = same_accounts and all(d[k][1] == s[k][1] for k in d)
    camps_equal = ({frozenset(c["accounts"]) for c in duck.campaigns}
                   == {frozenset(c["accounts"]) for c in sprk.campaigns})
    print(f"requests scored   {duck.summary['rows_scored']:,} (quarantined {duck.summary['rows_quarantined']:,})")
    print(f"accounts          {len(d)} duckdb, {len(s)} spark")
    print(f"duckdb wall s     {t_duck:.1f}")
    print(f"spark wall s      {t_spark:.1f} (master {a.master}{', quick conf' if a.quick else ''})")
    print(f"max |risk diff|   {max_diff:.3g}")
    print(f"tiers equal       {tiers_equal}")
    print(f"campaigns equal   {camps_equal} ({len(duck.campaigns)} duckdb, {len(sprk.campaigns)} spark)")
    for stage in duck.summary["timings_s"]:
        print(f"  {stage:18s} duckdb {duck.summary['timings_s'][stage]:7.2f} s   "
              f"spark {sprk.summary['timings_s'].get(stage, float('nan')):7.2f} s")


if __name__ == "__main__":
    main()
