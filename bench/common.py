"""Helpers shared by the bench/ scripts: timed subprocesses, cached bulk logs, docs/benchmarks.md sections.

Not part of the package and not run by the tests; every script prints its figures and rewrites
only its own section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "bench" / "results"
DATA = Path(os.environ.get("DISTILLWATCH_BENCH_DATA", "/tmp/distillwatch-bench"))
"""Where generated logs are cached (``$DISTILLWATCH_BENCH_DATA``; default /tmp/distillwatch-bench)."""
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def parse_size(s: str) -> int:
    """``"1M"`` -> 1_000_000, ``"28.8M"`` -> 28_800_000, ``"500k"`` -> 500_000, ``"1234"`` -> 1234.

    Raises:
        ValueError: not a number with an optional k/M suffix.
    """
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmM]?)\s*", s)
    if not m:
        raise ValueError(f"not a size: {s!r} (examples: 500k, 1M, 28.8M)")
    mult = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(round(float(m.group(1)) * mult))


def size_label(n: int) -> str:
    """1_000_000 -> "1M", 28_800_000 -> "28.8M", 500_000 -> "500k"."""
    if n >= 1_000_000:
        return f"{n / 1e6:g}M"
    if n >= 1_000:
        return f"{n / 1e3:g}k"
    return str(n)


def timed(cmd: list[str], log: Path | None = None, check: bool = True) -> dict:
    """Run ``cmd`` under ``/usr/bin/time -v``; return wall seconds, CPU seconds (user + system), peak RSS (bytes), stdout.

    CPU seconds matter on a shared machine: when other jobs hold the cores, wall time grows and
    CPU time does not (much).

    Peak RSS is the "Maximum resident set size" GNU time reports (kilobytes, converted to bytes):
    the largest RSS of the command's process tree's biggest process.

    With ``check=False`` a failed command returns its figures too, with ``returncode`` and
    ``failure`` (see :func:`failure_reason`) set.

    Raises:
        RuntimeError: the command failed and ``check`` is true (its stderr tail is in the message).
    """
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    if log:
        log.write_text(p.stdout + "\n---- stderr ----\n" + p.stderr)
    if p.returncode != 0 and check:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {p.returncode}:\n{p.stderr[-3000:]}")
    return {**parse_time_v(p.stderr, wall), "stdout": p.stdout, "returncode": p.returncode,
            "failure": failure_reason(p.stderr) if p.returncode else None}


def failure_reason(stderr: str) -> str:
    """One line saying why a command run under ``time -v`` failed: the signal that killed it, or its
    exit status and first ``error:`` line (the CLI's own message), from its stderr."""
    sig = re.search(r"Command terminated by signal (\d+)", stderr)
    if sig:
        n = int(sig.group(1))
        return f"killed by signal {n}" + (" (SIGKILL; on Linux usually the out-of-memory killer)" if n == 9 else "")
    st = re.search(r"Command exited with non-zero status (\d+)", stderr)
    err = next((ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("error:")), "")
    return f"exit {st.group(1) if st else '?'}" + (f": {err[:200]}" if err else "")


def parse_time_v(stderr: str, fallback_wall: float | None = None) -> dict:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) from GNU ``time -v`` output."""
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    el = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)", stderr)
    gnu_wall = None
    if el:
        parts = [float(x) for x in el.group(1).split(":")]
        gnu_wall = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    cpu = [re.search(rf"{k} time \(seconds\): ([0-9.]+)", stderr) for k in ("User", "System")]
    wall = gnu_wall if gnu_wall is not None else fallback_wall
    return {"wall_s": None if wall is None else round(wall, 2),
            "cpu_s": round(sum(float(c.group(1)) for c in cpu if c), 2),
            "peak_rss_bytes": int(rss.group(1)) * 1024 if rss else None}


def bulk_log(n_requests: int, seed: int = 0, **kw) -> tuple[Path, dict]:
    """Return the folder of a cached bulk log of ``n_requests`` (generating it when missing) and its manifest.

    Generation runs ``distillwatch simulate --requests N`` in a subprocess (timed like a scan), so
    the manifest carries the generator's wall time and rows per second. Extra keyword arguments
    become ``--campaign-accounts`` / ``--benign-accounts`` / ``--campaign-share`` options and are
    part of the cache key.
    """
    tag = "_".join(f"{k}{v}" for k, v in sorted(kw.items()))
    d = DATA / f"bulk_{size_label(n_requests)}_s{seed}{'_' + tag if tag else ''}"
    man = d / "manifest.json"
    if not man.exists():
        opts = []
        for k, v in sorted(kw.items()):
            opts += [f"--{k.replace('_', '-')}", str(v)]
        r = timed([PY, "-m", "distillwatch.cli", "simulate", "--out", str(d), "--requests", str(n_requests),
                   "--seed", str(seed), *opts])
        m = json.loads(man.read_text())
        m["generator_wall_s"], m["generator_peak_rss_bytes"] = r["wall_s"], r["peak_rss_bytes"]
        man.write_text(json.dumps(m, indent=2))
    return d, json.loads(man.read_text())


def machine() -> dict:
    """CPU count, total memory (GiB), load average at the time of the call, and Python / DuckDB versions."""
    import duckdb

    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"cpus": os.cpu_count(), "mem_gib": mem, "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def load_results(name: str) -> dict:
    """Stored results of one bench script (``bench/results/NAME.json``), keyed by size label."""
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else {}


def save_results(name: str, data: dict) -> None:
    """Write ``bench/results/NAME.json`` (sorted keys, indented)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_section(name: str, body: str) -> None:
    """Replace the text between ``<!-- scale:NAME:start -->`` and ``<!-- scale:NAME:end -->`` in docs/benchmarks.md.

    The section lives inside the ``<!-- scale:start -->`` / ``<!-- scale:end -->`` block (created
    at the end of the file when missing); nothing outside that block is touched.
    """
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if "<!-- scale:start -->" not in text:
        text = text.rstrip("\n") + "\n\n<!-- scale:start -->\n<!-- scale:end -->\n"
    start, end = f"<!-- scale:{name}:start -->", f"<!-- scale:{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.replace("<!-- scale:end -->", block + "\n\n<!-- scale:end -->")
    DOC.write_text(text, encoding="utf-8")


def gib(b: int | None) -> str:
    """Bytes as GiB with two decimals ("-" for None)."""
    return "-" if b is None else f"{b / 2**30:.2f}"
