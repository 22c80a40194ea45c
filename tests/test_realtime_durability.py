"""Kill -9 and restart: every event the service acknowledged is in the store afterwards, and the
account counters agree with the stored events (they are committed in the same transaction)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from helpers import req  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOKEN = "durability-token"
H = {"Authorization": f"Bearer {TOKEN}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(state: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "DISTILLWATCH_TOKEN": TOKEN}
    p = subprocess.Popen([sys.executable, "-m", "distillwatch.cli", "serve", "--port", str(port), "--state", str(state),
                          "--relink-every-s", "0", "--relink-every-events", "0"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        if p.poll() is not None:
            raise AssertionError(f"serve exited: {p.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return p
        except httpx.HTTPError:
            time.sleep(0.1)
    p.kill()
    raise AssertionError("serve did not start within 60 s")


def test_acknowledged_events_survive_kill_9(tmp_path):
    state, port = tmp_path / "state", _free_port()
    proc = _start(state, port)
    acked: list[tuple[str, str]] = []
    stop = threading.Event()

    def post(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=H, timeout=5) as c:
            i = 0
            while not stop.is_set():
                rid, acct = f"w{worker}-{i}", f"acct_{worker}_{i % 7}"
                try:
                    r = c.post("/v1/decide", json=req(rid, f"Request {i}: explain step by step", account=acct,
                                                       ts=1_772_445_600_000 + i * 1000))
                except httpx.HTTPError:
                    return                      # the server died mid-request: not acknowledged
                if r.status_code == 200:
                    acked.append((rid, acct))
                i += 1

    try:
        threads = [threading.Thread(target=post, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while len(acked) < 400 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)      # mid-stream: requests are in flight
        proc.wait(10)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        if proc.poll() is None:
            proc.kill()
    assert len(acked) >= 100, "too few events acknowledged before the kill to test anything"

    # 1. straight from the database file, without the service
    con = sqlite3.connect(state / "state.sqlite")
    stored = {r[0] for r in con.execute("SELECT request_id FROM events")}
    con.close()
    missing = [rid for rid, _ in acked if rid not in stored]
    print(f"kill -9 durability: {len(acked)} acknowledged, {len(stored)} stored, {len(missing)} lost")
    assert missing == [], f"{len(missing)} acknowledged events lost"

    # 2. through a restarted service: per-account request counters equal the stored events
    proc = _start(state, port)
    try:
        con = sqlite3.connect(state / "state.sqlite")
        per_acct = Counter(a for (a,) in con.execute("SELECT account_id FROM events"))
        con.close()
        acked_per_acct = Counter(a for _, a in acked)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=H, timeout=5) as c:
            for acct, n in per_acct.items():
                v = c.get(f"/v1/accounts/{acct}").json()
                assert v["requests"] == n >= acked_per_acct[acct]
                assert v["counters"]["cot"] == n                # every posted request asks for steps
            assert c.get("/healthz").json()["events"] == len(stored)
            # an acknowledged event re-sent after the restart is recognised, not counted twice
            rid, acct = acked[0]
            before = c.get(f"/v1/accounts/{acct}").json()["requests"]
            r = c.post("/v1/decide", json=req(rid, "again", account=acct))
            assert r.status_code == 200 and c.get(f"/v1/accounts/{acct}").json()["requests"] == before
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
