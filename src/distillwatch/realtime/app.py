"""The HTTP service behind ``distillwatch serve`` (FastAPI under uvicorn).

Endpoints (all but ``/healthz`` need ``Authorization: Bearer <token>``; a missing or wrong
token is answered 401):

* ``POST /v1/decide`` (a plain Starlette route, for speed): one request in the input contract -> ``{decision, risk, reasons,
  campaign_id}`` (:class:`distillwatch.realtime.models.Decision`). The request is stored first;
  the answer is sent only after its transaction has committed.
* ``POST /v1/events``: ``{"events": [...]}`` -> ``{accepted, duplicates, decisions}``.
  Validation is all-or-nothing: one bad event rejects the batch with 422 naming its index and field.
* ``GET /v1/accounts/{id}``: the account's streaming counters, streaming signals and latest
  re-link result (404 when never seen).
* ``POST /v1/relink``: run a re-link now and wait for it (returns the run record).
* ``GET /healthz``: liveness, events stored, last re-link.
* ``GET /metrics``: Prometheus text format (prometheus_client).

A malformed body is answered 422 with FastAPI's error list: ``detail[i].loc`` names the field
(``["body", "timestamp"]``, ``["body", "events", 3, "client_ip"]``) and ``detail[i].msg`` the problem.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import ValidationError
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool

from distillwatch.realtime.decide import Scorer, load_side_files
from distillwatch.realtime.models import EventBatch, RequestEvent
from distillwatch.realtime.policy import Policy, load_policy
from distillwatch.realtime.relink import Relinker
from distillwatch.realtime.state import Store

TOKEN_ENV = "DISTILLWATCH_TOKEN"
"""Environment variable read for the bearer token when ``--token`` is not given."""


@dataclass
class ServiceConfig:
    """Settings of one service instance.

    Attributes:
        state_dir: where ``state.sqlite`` lives (created).
        token: bearer token; ``None`` disables authentication (only with ``auth=False``).
        auth: require the token (default True).
        accounts, releases: side files (input contract), also given to the re-link.
        intel_dir: IP-intelligence directory for the re-link and for policy country rules.
        policy: policy YAML path.
        relink_every_s, relink_every_events: background re-link triggers (0 = off).
        window_s: account sliding window (seconds); max_per_window: throttle above it (None = off).
        synchronous: SQLite synchronous pragma (NORMAL survives kill -9; FULL also power loss).
    """

    state_dir: Path
    token: Optional[str] = None
    auth: bool = True
    accounts: Optional[Path] = None
    releases: Optional[Path] = None
    intel_dir: Optional[Path] = None
    policy: Optional[Path] = None
    relink_every_s: float = 300.0
    relink_every_events: int = 10_000
    window_s: int = 3600
    max_per_window: Optional[int] = None
    synchronous: str = "NORMAL"


class _GroupCommit:
    """Commit once per event-loop turn for all requests staged in it, then release their answers.

    The first request staged in a turn schedules a commit with ``loop.call_soon``; requests
    handled before it runs join the same transaction; all await the same future and are answered
    only after the commit succeeded (a failed commit answers 500 to all of them).
    """

    def __init__(self, store: Store):
        self.store, self.fut = store, None

    async def wait(self) -> None:
        if self.fut is None:
            loop = asyncio.get_running_loop()
            self.fut = loop.create_future()
            loop.call_soon(self._flush)
        await asyncio.shield(self.fut)

    def _flush(self) -> None:
        fut, self.fut = self.fut, None
        try:
            self.store.commit()
            fut.set_result(None)
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            fut.set_exception(exc)


def create_app(cfg: ServiceConfig) -> FastAPI:
    """Build the FastAPI application for ``cfg``.

    Raises:
        ValueError: authentication is on and no token is configured.
        distillwatch.realtime.policy.PolicyError: the policy file is invalid.
        distillwatch.errors.InputError: a side file has no valid row.
    """
    if cfg.auth and not cfg.token:
        raise ValueError(f"no bearer token: pass --token or set ${TOKEN_ENV} (or --no-auth to run without one)")
    policy = load_policy(cfg.policy) if cfg.policy else Policy()
    accounts, releases = load_side_files(cfg.accounts, cfg.releases)
    intel = None
    if policy.needs_ip_country:
        from distillwatch.intel import load_intel

        intel = load_intel(cfg.intel_dir)
    store = Store(cfg.state_dir, window_s=cfg.window_s, synchronous=cfg.synchronous)
    scorer = Scorer(store, policy, accounts, releases, intel, cfg.max_per_window)

    reg = CollectorRegistry()
    m_dec = Counter("distillwatch_decisions", "Decisions by outcome", ["decision"], registry=reg)
    m_lat = Histogram("distillwatch_decide_seconds", "Time to store and decide one request (seconds)",
                      buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1.0), registry=reg)
    m_events = Gauge("distillwatch_events_stored", "Events in the store", registry=reg)
    m_events.set_function(lambda: store.n_events)
    m_accounts = Gauge("distillwatch_accounts", "Accounts with streaming state", registry=reg)
    m_accounts.set_function(lambda: len(store.accounts))
    m_dup = Counter("distillwatch_duplicate_events", "Events whose request_id was already stored", registry=reg)
    m_relinks = Counter("distillwatch_relinks", "Completed re-links", registry=reg)
    m_relink_s = Gauge("distillwatch_last_relink_seconds", "Duration of the last re-link (seconds)", registry=reg)

    def relink_done(run: dict) -> None:
        m_relinks.inc()
        m_relink_s.set(run["seconds"])

    group = _GroupCommit(store)
    relinker = Relinker(store, cfg.accounts, cfg.releases, cfg.intel_dir, cfg.relink_every_s,
                        cfg.relink_every_events, on_done=relink_done)

    @asynccontextmanager
    async def lifespan(app):
        relinker.start()
        try:
            yield
        finally:
            relinker.stop()
            store.close()

    def _invalid(exc: ValidationError) -> Response:
        """422 in FastAPI's error shape (``loc`` starts with "body"), without the offending input:
        it would echo prompt text back into clients' and gateways' logs."""
        detail = [{"type": e["type"], "loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        return Response(orjson.dumps({"detail": detail}, default=str), 422, media_type="application/json")

    app = FastAPI(title="distillwatch", lifespan=lifespan)
    app.state.scorer, app.state.store, app.state.relinker, app.state.registry = scorer, store, relinker, reg
    expected = f"Bearer {cfg.token}".encode() if cfg.token else None

    async def auth(request: Request) -> None:
        if store.broken:
            raise HTTPException(503, "state store failed a commit; restart the service (it reloads from disk)")
        if not cfg.auth:
            return
        got = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(got, expected):
            raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    def _refuse(request: Request) -> Response | None:
        """503 while the store is broken, 401 without the bearer token; None when the request may proceed."""
        if store.broken:
            return Response(b'{"detail":"state store failed a commit; restart the service"}', 503,
                            media_type="application/json")
        if cfg.auth and not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            return Response(b'{"detail":"missing or invalid bearer token"}', 401, media_type="application/json",
                            headers={"WWW-Authenticate": "Bearer"})
        return None

    async def decide(request: Request) -> Response:
        # The hot path is a plain Starlette route: FastAPI's dependency and body machinery cost
        # more than the decision itself. Same contract: 401 without the token; 422 with FastAPI's
        # error shape (``loc`` starts with "body"); the answer after the group commit.
        t0 = time.perf_counter()
        refused = _refuse(request)
        if refused is not None:
            return refused
        body = await request.body()
        try:
            ev = RequestEvent.model_validate_json(body)
        except ValidationError as exc:
            return _invalid(exc)
        d, stored = scorer.handle(ev, commit=False)
        await group.wait()
        if not stored:
            m_dup.inc()
        m_dec.labels(d["decision"]).inc()
        m_lat.observe(time.perf_counter() - t0)
        return Response(orjson.dumps(d), media_type="application/json")

    app.router.add_route("/v1/decide", decide, methods=["POST"])

    async def events(request: Request) -> Response:
        # A plain route like /v1/decide: the body is JSON whatever the Content-Type header says
        # (curl -d sends none), and a 422 never echoes the body back (it holds prompt text).
        refused = _refuse(request)
        if refused is not None:
            return refused
        try:
            batch = EventBatch.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        out, dup = [], 0
        for ev in batch.events:
            d, stored = scorer.handle(ev, commit=False)
            dup += not stored
            m_dec.labels(d["decision"]).inc()
            out.append(d)
        await group.wait()
        if dup:
            m_dup.inc(dup)
        return Response(orjson.dumps({"accepted": len(out) - dup, "duplicates": dup, "decisions": out}),
                        media_type="application/json")

    app.router.add_route("/v1/events", events, methods=["POST"])

    @app.get("/v1/accounts/{account_id}", dependencies=[Depends(auth)])
    async def account(account_id: str):
        v = scorer.account_view(account_id)
        if v is None:
            raise HTTPException(404, f"account {account_id!r} has not been seen")
        return v

    @app.post("/v1/relink", dependencies=[Depends(auth)])
    async def relink_now():
        run = await run_in_threadpool(relinker.run_once)
        return {"run": run}

    @app.get("/healthz")
    async def healthz():
        return {"status": "broken" if store.broken else "ok", "events": store.n_events, "accounts": len(store.accounts),
                "last_relink": store.last_relink, "relink_error": relinker.last_error}

    @app.get("/metrics", dependencies=[Depends(auth)])
    async def metrics():
        return Response(generate_latest(reg), media_type=CONTENT_TYPE_LATEST)

    return app
