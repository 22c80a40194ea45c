"""Periodic batch re-link: run :func:`distillwatch.pipeline.scan` over the stored events and adopt its results.

Every ``every_s`` seconds, or as soon as ``every_events`` new events have been stored since the
last run, a background thread writes the stored events (time order) to
``<state>/relink/requests.jsonl`` and scans them with the same accounts, releases and IP
intelligence as the service. The account tiers, risks, campaign ids and evidence it returns
replace the service's re-link table (:meth:`distillwatch.realtime.state.Store.adopt_relink`),
and the artifact -> campaign map is rebuilt from them. After a final re-link over the whole log
the service's tiers are therefore exactly those of ``distillwatch scan`` on the same rows.

The scan runs in a thread of the service process. DuckDB releases the GIL while it works, but the
pandas and igraph stages do not, so decisions slow down while a re-link runs (measured in
``bench/realtime_latency.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from distillwatch.realtime.state import Store

log = logging.getLogger("distillwatch.realtime")


class Relinker:
    """Runs re-links on demand (:meth:`run_once`) and in the background (:meth:`start`).

    Args:
        store: the durable state.
        accounts, releases: side files passed to ``scan`` (may be ``None``).
        intel_dir: IP-intelligence directory passed to ``scan`` (``None`` = default search).
        every_s: seconds between background re-links (``0`` = never by time).
        every_events: new events that trigger a background re-link (``0`` = never by count).
        on_done: callback receiving the run record (for metrics).
    """

    def __init__(self, store: Store, accounts: Optional[Path] = None, releases: Optional[Path] = None,
                 intel_dir: Optional[Path] = None, every_s: float = 300.0, every_events: int = 10_000,
                 on_done: Optional[Callable[[dict], None]] = None):
        self.store, self.accounts, self.releases, self.intel_dir = store, accounts, releases, intel_dir
        self.every_s, self.every_events, self.on_done = every_s, every_events, on_done
        self._run_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.last_error: Optional[str] = None
        self._started = time.time()

    def run_once(self) -> Optional[dict]:
        """Re-link over every event stored now; returns the run record, or ``None`` when there are no events.

        Raises:
            distillwatch.errors.InputError: from ``scan`` (for example an invalid side file).
        """
        from distillwatch.pipeline import scan

        with self._run_lock:
            upto = self.store.max_seq()
            if upto == 0:
                return None
            t0 = time.perf_counter()
            work = self.store.dir / "relink"
            work.mkdir(exist_ok=True)
            path = work / "requests.jsonl"
            n = 0
            with open(path, "wb") as fh:
                for body in self.store.iter_event_bodies(upto):
                    fh.write(body + b"\n")
                    n += 1
            res = scan(path, out=None, accounts=self.accounts, releases=self.releases, intel_dir=self.intel_dir,
                       write_report=False)
            rows = [{"account_id": r.account_id, "risk": float(r.risk), "tier": r.tier,
                     "campaign_id": r.campaign_id or "", "reasons": r.reasons, "evidence": list(r.evidence)}
                    for r in res.accounts.itertuples(index=False)]
            run = {"run_id": self.store.next_run_id(), "at_ms": int(time.time() * 1000), "upto_seq": upto,
                   "n_events": n, "n_accounts": len(rows), "n_campaigns": len(res.campaigns),
                   "seconds": round(time.perf_counter() - t0, 3)}
            self.store.adopt_relink(rows, run)
            log.info("re-link %s: %s events, %s accounts, %s campaigns in %.1f s", run["run_id"], n, len(rows),
                     len(res.campaigns), run["seconds"])
            if self.on_done:
                self.on_done(run)
            return run

    def due(self, now: float) -> bool:
        """True when a background re-link should start (enough new events, or enough time since the last)."""
        last = self.store.last_relink
        done_seq = last["upto_seq"] if last else 0
        new = self.store.max_seq() - done_seq
        if new <= 0:
            return False
        if self.every_events and new >= self.every_events:
            return True
        last_t = (last["at_ms"] / 1000) if last else self._started
        return bool(self.every_s) and now - last_t >= self.every_s

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                if self.due(time.time()):
                    self.run_once()
                    self.last_error = None
            except Exception as exc:  # noqa: BLE001 - keep serving; the error is exposed on /healthz
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("re-link failed")

    def start(self) -> None:
        """Start the background thread (no-op when both triggers are off)."""
        self._started = time.time()
        if not (self.every_s or self.every_events):
            return
        self._thread = threading.Thread(target=self._loop, name="distillwatch-relink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (waits for a running re-link to finish)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
