"""Decision latency and throughput of ``distillwatch serve`` on one core.

Starts ``distillwatch serve`` (uvicorn, one worker, SQLite state in a fresh temp directory,
bearer-token auth on, background re-link off) pinned with ``taskset`` to core 0, and drives it
from this process pinned to core 1 over loopback with a small asyncio HTTP/1.1 keep-alive
client (raw sockets, so the load generator is cheap). Request bodies are rows of a simulated log
(``distillwatch simulate``) with fresh request ids, so every request is stored and scored.

Phases:

1. *throughput*: closed loop, ``--conns`` connections each sending its next request as soon as
   the answer arrives, for ``--seconds``; reports requests per second and latency.
2. *fixed rate*: open loop at ``--rate`` requests per second for ``--seconds``; latency is
   measured from each request's *scheduled* send time (no coordinated omission), p50 and p99.

Prints the figures and rewrites the ``latency`` sub-section of docs/benchmarks.md.

Usage: ``python bench/realtime_latency.py [--sim DIR] [--rate 2000] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
TOKEN = "bench-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bodies:
    """Endless supply of request bodies: simulated rows with unique ids and increasing timestamps."""

    def __init__(self, rows: list[dict]):
        self.rows, self.i = rows, 0
        self.t0 = 1_776_816_000_000

    def next(self) -> bytes:
        r = dict(self.rows[self.i % len(self.rows)])
        r["request_id"] = f"bench-{self.i}"
        r["timestamp"] = self.t0 + self.i * 10
        self.i += 1
        body = orjson.dumps(r)
        return (b"POST /v1/decide HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\n\r\n" + body)


async def _roundtrip(reader, writer, payload: bytes) -> int:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    n = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            n = int(line[15:])
    await reader.readexactly(n)
    return status


async def closed_loop(port: int, bodies: Bodies, conns: int, seconds: float) -> tuple[int, list[float], int]:
    lat, errors, done = [], 0, 0
    end = time.perf_counter() + seconds

    async def worker():
        nonlocal errors, done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < end:
            t = time.perf_counter()
            st = await _roundtrip(reader, writer, bodies.next())
            lat.append(time.perf_counter() - t)
            done += 1
            errors += st != 200
        writer.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    return done, lat, errors


async def open_loop(port: int, bodies: Bodies, rate: float, seconds: float, conns: int) -> tuple[list[float], int, int]:
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(conns):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    lat, errors = [], 0
    n = int(rate * seconds)
    t0 = time.perf_counter() + 0.05
    tasks = []

    async def one(sched: float, payload: bytes):
        nonlocal errors
        conn = await pool.get()
        try:
            st = await _roundtrip(*conn, payload)
        finally:
            pool.put_nowait(conn)
        lat.append(time.perf_counter() - sched)
        errors += st != 200

    for i in range(n):
        sched = t0 + i / rate
        delay = sched - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(sched, bodies.next())))
    await asyncio.gather(*tasks)
    late = sum(1 for x in lat if x > 0.002)
    return lat, errors, late


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (from /proc/PID/stat)."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def in_process(rows: list[dict], state: Path, accounts: Path, releases: Path, n: int = 5000) -> list[float]:
    """Seconds per event for validate + score + commit (one transaction per event), no HTTP."""
    from distillwatch.realtime.decide import Scorer, load_side_files
    from distillwatch.realtime.models import RequestEvent
    from distillwatch.realtime.state import Store

    acc, rel = load_side_files(accounts, releases)
    sc = Scorer(Store(state), accounts=acc, releases=rel)
    bodies, out = Bodies(rows), []
    for _ in range(n):
        raw = bodies.next().split(b"\r\n\r\n", 1)[1]
        t = time.perf_counter()
        sc.handle(RequestEvent.model_validate_json(raw))
        out.append(time.perf_counter() - t)
    sc.store.close()
    return out


def _pct(lat: list[float], q: float) -> float:
    return float(np.percentile(np.array(lat) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", type=Path, help="simulated log directory (default: simulate seed 7, scale 0.05)")
    ap.add_argument("--rate", type=float, default=2000.0, help="offered load of the fixed-rate phase (req/s)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each phase (s)")
    ap.add_argument("--conns", type=int, default=8, help="connections of the closed-loop phase")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    try:
        sim = a.sim
        if sim is None:
            sim = tmp / "sim"
            subprocess.run([sys.executable, "-m", "distillwatch.cli", "simulate", "--out", str(sim), "--seed", "7",
                            "--scale", "0.05"], check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "PYTHONPATH": str(REPO / "src")})
        rows = [json.loads(line) for line in open(sim / "requests.jsonl", encoding="utf-8")]
        os.sched_setaffinity(0, {0})
        lat_i = in_process(rows, tmp / "inproc", sim / "accounts.jsonl", sim / "releases.jsonl")
        port = _free_port()
        ncpu = os.cpu_count() or 1
        server_core, client_core = "0", str(1 % ncpu)
        cmd = ["taskset", "-c", server_core, sys.executable, "-m", "distillwatch.cli", "serve", "--port", str(port),
               "--state", str(tmp / "state"), "--token", TOKEN, "--relink-every-s", "0", "--relink-every-events", "0",
               "--accounts", str(sim / "accounts.jsonl"), "--releases", str(sim / "releases.jsonl")]
        srv = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(REPO / "src")}, stderr=subprocess.PIPE)
        os.sched_setaffinity(0, {int(client_core)})
        try:
            import httpx

            for _ in range(600):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            try:
                import uvloop

                uvloop.install()
            except ImportError:
                pass
            bodies = Bodies(rows)
            asyncio.run(closed_loop(port, bodies, a.conns, 2.0))        # warm-up (not reported)
            c0 = _cpu_s(srv.pid)
            done, lat_c, err_c = asyncio.run(closed_loop(port, bodies, a.conns, a.seconds))
            cpu = _cpu_s(srv.pid) - c0
            thr = done / a.seconds
            lat_o, err_o, late = asyncio.run(open_loop(port, bodies, a.rate, a.seconds, 64))
            stored = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["events"]
        finally:
            srv.terminate()
            srv.wait(15)
        load = os.getloadavg()
        res = {
            "throughput_rps": round(thr, 1), "server_cpu_share": round(cpu / a.seconds, 3),
            "server_cpu_us_per_request": round(cpu / done * 1e6, 1), "rps_per_server_cpu_second": round(done / cpu, 1), "closed_p50_ms": round(_pct(lat_c, 50), 3),
            "closed_p99_ms": round(_pct(lat_c, 99), 3), "closed_errors": err_c,
            "inprocess_p50_ms": round(_pct(lat_i, 50), 3), "inprocess_p99_ms": round(_pct(lat_i, 99), 3),
            "rate_rps": a.rate, "rate_p50_ms": round(_pct(lat_o, 50), 3), "rate_p99_ms": round(_pct(lat_o, 99), 3),
            "rate_share_over_2ms": round(late / len(lat_o), 4), "rate_errors": err_o, "events_stored": stored,
            "loadavg_1m": round(load[0], 2), "cpus": ncpu,
        }
        print(json.dumps(res, indent=2))
        if not a.no_docs:
            from _docs import write_section

            write_section("latency", f"""### Decision latency and throughput (`bench/realtime_latency.py`)

Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()}, {ncpu} CPUs, Python
{platform.python_version()}; server `distillwatch serve` (uvicorn, 1 worker, auth on, SQLite WAL
`synchronous=NORMAL`, re-link off) pinned to core {server_core}, load generator pinned to core {client_core};
bodies are simulated requests (seed 7), each one stored and scored. 1-minute load average at the end:
{res['loadavg_1m']} (other jobs shared this machine).

| phase | figure |
|---|---|
| in process, no HTTP (validate + score + commit, 5,000 events, core 0) | p50 {res['inprocess_p50_ms']} ms, p99 {res['inprocess_p99_ms']} ms per event |
| closed loop, {a.conns} connections, {a.seconds:.0f} s | **{res['throughput_rps']} req/s**; latency p50 {res['closed_p50_ms']} ms, p99 {res['closed_p99_ms']} ms |
| open loop at {a.rate:.0f} req/s, {a.seconds:.0f} s | latency p50 **{res['rate_p50_ms']} ms**, p99 **{res['rate_p99_ms']} ms**; {res['rate_share_over_2ms']:.1%} of requests over 2 ms |
| server CPU in the closed loop | {res['server_cpu_share']:.0%} of one core used; {res['server_cpu_us_per_request']} µs CPU per request, i.e. **{res['rps_per_server_cpu_second']} requests per CPU-second used** (CPU time is inflated when the core is shared) |
| errors (non-200) | {res['closed_errors'] + res['rate_errors']} |

Target: p99 <= 2 ms at >= 2,000 req/s on one core.
""")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
