"""``simulate()``: generate a labelled request log with benign traffic and extraction campaigns."""

from __future__ import annotations

import dataclasses
import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import orjson

from distillwatch.corpora import Corpora, load_corpora
from distillwatch.simulate import benign as B
from distillwatch.simulate import campaigns as C
from distillwatch.simulate import params as P
from distillwatch.simulate.world import Account, World, WorldParams, parse_time

GENERATORS: dict[type, Callable] = {
    P.CasualParams: B.gen_casual,
    P.DeveloperParams: B.gen_developer,
    P.EnterpriseParams: B.gen_enterprise,
    P.CodingAgentParams: B.gen_coding_agent,
    P.EvalHarnessParams: B.gen_eval_harness,
    P.CampusParams: B.gen_campus,
    P.HydraParams: C.gen_hydra,
    P.CotHarvestParams: C.gen_cot_harvest,
    P.CarefulRingParams: C.gen_careful_ring,
    P.ResellerParams: C.gen_reseller,
    P.LegitRelayParams: C.gen_reseller,
    P.BurstOnceParams: B.gen_burst_once,
}

FILES = {"requests": "requests.jsonl", "accounts": "accounts.jsonl", "releases": "releases.jsonl",
         "truth": "truth.csv", "manifest": "manifest.json"}


@dataclass
class SimulationSummary:
    """What ``simulate`` wrote.

    Attributes:
        out_dir: the output folder; ``files`` maps each output to its path.
        n_requests, n_accounts: totals.
        archetypes: name -> ``{label, accounts, requests}``.
        releases: the rows of ``releases.jsonl``.
        corpora_mode, corpora_sources: where the prompt texts came from (with licences).
        seconds: wall time of the run.
    """

    out_dir: str
    seed: int
    scale: float
    start: str
    days: int
    n_requests: int
    n_accounts: int
    archetypes: dict[str, dict[str, Any]]
    releases: list[dict[str, str]]
    corpora_mode: str
    corpora_sources: list[dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The summary as nested plain dicts and lists (``dataclasses.asdict``)."""
        return dataclasses.asdict(self)


def _statuses(rows: list[dict], p429: float, p500: float, rng: np.random.Generator) -> list[dict]:
    """Mark some requests 429 / 500 (no output); most failed requests are retried seconds later."""
    u = rng.random(len(rows))
    retries = []
    for r, x in zip(rows, u):
        if x >= p429 + p500:
            continue
        code = 429 if x < p429 else 500
        if rng.random() < (0.8 if code == 429 else 0.5):
            retry = dict(r)
            retry["_t"] = r["_t"] + rng.uniform(1.0, 30.0)
            retries.append(retry)
        r["status"] = code
        r["output_tokens"] = 0
    return rows + retries


def _params_record(params: P.ArchetypeParams) -> dict[str, Any]:
    d = dataclasses.asdict(params)
    d["archetype"] = type(params).name
    d["label"] = type(params).label
    return d


def simulate(
    out_dir: str | Path,
    seed: int = 0,
    scale: float = 1.0,
    intel: Any = None,
    corpora: Corpora | None = None,
    start: str = "2026-04-22T00:00:00Z",
    days: int = 14,
    archetypes: Mapping[str, P.ArchetypeParams] | None = None,
    world: WorldParams | None = None,
) -> SimulationSummary:
    """Simulate an API request log with benign archetypes and extraction campaigns.

    Args:
        out_dir: folder to write ``requests.jsonl``, ``accounts.jsonl``, ``releases.jsonl``,
            ``truth.csv`` and ``manifest.json`` into (created if missing).
        seed: same seed, same bytes.
        scale: 1.0 is about 100k requests; account counts (and single-organisation volumes)
            scale with it, never below each archetype's ``min_accounts``.
        intel: an ``IntelDB`` (``distillwatch.intel.load_intel``); loaded when None.
        corpora: ``Corpora`` (``distillwatch.corpora.load_corpora``); loaded when None.
        start: window start (RFC 3339, UTC); ``days``: window length.
        archetypes: name -> parameters; default ``SCENARIO_DEFAULTS``. Names are written to
            ``truth.csv`` as the campaign; several entries may share a parameter class.
        world: models and the release plan (``WorldParams``).

    Returns:
        ``SimulationSummary``.
    """
    t_begin = time.perf_counter()
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if days < 3:
        raise ValueError(f"days must be >= 3, got {days}")
    if intel is None:
        from distillwatch.intel import load_intel

        intel = load_intel(None)
    if corpora is None:
        corpora = load_corpora(seed=seed)
    wp = world or WorldParams()
    w = World(t0=parse_time(start), days=int(days), corpora=corpora, intel=intel, params=wp, scale=float(scale))
    arch = dict(P.SCENARIO_DEFAULTS if archetypes is None else archetypes)

    all_accounts: list[Account] = []
    all_rows: list[dict] = []
    per_arch: dict[str, dict[str, Any]] = {}
    for name, params in arch.items():
        gen = GENERATORS.get(type(params))
        if gen is None:
            raise TypeError(f"no generator for {type(params).__name__} (archetype {name!r})")
        rng = np.random.default_rng([int(seed), zlib.crc32(name.encode())])
        accounts, rows = gen(w, params, rng, name)
        rows = _statuses(rows, params.p_429, params.p_500, rng)
        rows = [r for r in rows if w.t0 <= r["_t"] < w.t1]
        all_accounts += accounts
        all_rows += rows
        per_arch[name] = {"label": type(params).label, "accounts": len(accounts), "requests": len(rows)}

    ids = [a.account_id for a in all_accounts]
    if len(set(ids)) != len(ids):  # 64-bit random ids: practically impossible
        raise RuntimeError("account id collision; try another seed")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([int(seed), 0xD157])
    n = len(all_rows)
    t = np.array([r["_t"] for r in all_rows], float)
    order = np.argsort(t + rng.exponential(2.0, n), kind="stable")  # roughly, not exactly, time-ordered
    raw = rng.bytes(12 * n).hex()
    req_ids = ["req_" + raw[24 * i: 24 * i + 24] for i in range(n)]
    if len(set(req_ids)) != n:
        raise RuntimeError("request id collision; try another seed")
    ms = np.round(t * 1000).astype(np.int64)
    iso = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms", timezone="UTC")
    as_int = rng.random(n) < wp.epoch_ms_share

    files = {k: str(out / v) for k, v in FILES.items()}
    with open(files["requests"], "wb") as fh:
        buf = []
        for j, i in enumerate(order):
            r = all_rows[i]
            rec = {"request_id": req_ids[j], "timestamp": int(ms[i]) if as_int[i] else str(iso[i])}
            rec.update((k, v) for k, v in r.items() if not k.startswith("_"))
            buf.append(orjson.dumps(rec))
            if len(buf) >= 5000:
                fh.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            fh.write(b"\n".join(buf) + b"\n")

    accounts_sorted = sorted(all_accounts, key=lambda a: a.account_id)
    with open(files["accounts"], "wb") as fh:
        for a in accounts_sorted:
            fh.write(orjson.dumps(a.record()) + b"\n")
    releases = w.releases()
    with open(files["releases"], "wb") as fh:
        for rel in releases:
            fh.write(orjson.dumps(rel) + b"\n")
    with open(files["truth"], "w", encoding="utf-8", newline="") as fh:
        fh.write("account_id,label,campaign\n")
        for a in accounts_sorted:
            fh.write(f"{a.account_id},{a.label},{a.archetype}\n")

    manifest = {
        "generator": "distillwatch.simulate",
        "seed": int(seed), "scale": float(scale), "start": start, "days": int(days),
        "n_requests": n, "n_accounts": len(all_accounts), "archetypes": per_arch,
        "parameters": {name: _params_record(p) for name, p in arch.items()},
        "world": dataclasses.asdict(wp), "releases": releases,
        "corpora": {"mode": corpora.mode, "sources": corpora.sources},
        "intel_source": str(getattr(intel, "source", "")),
        "wrappers": "distillwatch.simulate.wrappers: the project's own extraction wrappers (no public corpus)",
    }
    Path(files["manifest"]).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n",
                                       encoding="utf-8")
    return SimulationSummary(
        out_dir=str(out), seed=int(seed), scale=float(scale), start=start, days=int(days), n_requests=n,
        n_accounts=len(all_accounts), archetypes=per_arch, releases=releases, corpora_mode=corpora.mode,
        corpora_sources=corpora.sources, files=files, seconds=round(time.perf_counter() - t_begin, 3))
