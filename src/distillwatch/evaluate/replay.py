"""Streaming replay: when is each campaign first flagged?

A labelled log is replayed in time order. At checkpoints after each campaign's first request
(:data:`CHECKPOINTS_H`, hours) the prefix of the log up to that instant (every request with a
timestamp at or before it, in file order) is scanned by the batch pipeline, exactly as an analyst
rerunning the audit at that moment would; the campaign is *flagged* at the first checkpoint where
any of its accounts is in tier ``review`` or ``ban``. A scan per checkpoint, not per request: the
time to detection is therefore an upper bound at the checkpoints' resolution, and a campaign that is
already flagged is not scanned for again. The instant of a campaign's last request is always a
checkpoint, so a campaign the full scan flags is never reported as never flagged.

Outputs per campaign: hours from its first request to the flagging checkpoint, the number of its
requests that had arrived by then, and that number as a share of its eventual requests (the
quantity issue 3 and issue 5 bound at 1 %).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import orjson
import pandas as pd

CHECKPOINTS_H = (0.5,) + tuple(float(h) for h in range(1, 25)) + (30.0, 36.0, 48.0, 60.0, 72.0, 96.0, 120.0, 168.0,
                                                               240.0, 336.0, 504.0, 720.0, 1080.0)
"""Hours after a campaign's first request at which the prefix is scanned (the resolution of the answer):
every hour through the first day, where the 1 % bound falls at the disclosed campaigns' pace (a
campaign of 12,000 requests over 45 days sends 1 % in about 11 hours), then coarser."""

FLAG_TIERS = ("review", "ban")


@dataclass
class LogIndex:
    """The lines of a JSON Lines request log with their times and accounts.

    Attributes:
        lines: raw lines (bytes, without the newline), in file order.
        ts_ms: request time, epoch milliseconds UTC (``int64``); ``-1`` where unreadable.
        account: ``account_id`` per line (``None`` where missing).
    """

    lines: list[bytes]
    ts_ms: np.ndarray
    account: np.ndarray


def index_log(path: str | Path) -> LogIndex:
    """Read a JSON Lines log's timestamps and accounts (the simulator's or any contract-following log).

    Timestamps are epoch milliseconds or RFC 3339 strings (``docs/input-format.md``). Lines that
    are not JSON objects, or lack a readable timestamp, get ``ts_ms = -1`` and are never replayed
    (the full scan quarantines them too).

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    lines, ts, acc = [], [], []
    with open(path, "rb") as fh:
        for raw in fh:
            raw = raw.rstrip(b"\r\n")
            if not raw:
                continue
            lines.append(raw)
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError:
                rec = None
            if not isinstance(rec, dict):
                ts.append(None)
                acc.append(None)
                continue
            ts.append(rec.get("timestamp"))
            acc.append(rec.get("account_id"))
    out = np.full(len(ts), -1, dtype=np.int64)
    strs = []
    for i, t in enumerate(ts):
        if isinstance(t, int) and not isinstance(t, bool):
            out[i] = t
        elif isinstance(t, str):
            strs.append(i)
    if strs:  # RFC 3339; no offset means UTC
        parsed = pd.to_datetime(pd.Series([ts[i] for i in strs], dtype=object), utc=True, errors="coerce",
                                format="ISO8601")
        good = parsed.notna().to_numpy()
        ms = (parsed[good] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
        out[np.array(strs)[good]] = ms.to_numpy(dtype=np.int64)
    return LogIndex(lines, out, np.array(acc, dtype=object))


def replay(requests: str | Path, truth: str | Path | pd.DataFrame, accounts: str | Path | None = None,
           releases: str | Path | None = None, checkpoints_h: tuple[float, ...] = CHECKPOINTS_H,
           scan_fn: Callable[..., object] | None = None, workdir: str | Path | None = None) -> pd.DataFrame:
    """Time to detection of every attack campaign in a labelled log.

    Args:
        requests: JSON Lines log.
        truth: ``truth.csv`` (``account_id,label,campaign``) or its DataFrame.
        accounts, releases: the side files, passed to every prefix scan as they are.
        checkpoints_h: hours after each campaign's first request at which to scan.
        scan_fn: the scanner (default :func:`distillwatch.pipeline.scan`); called as
            ``scan_fn(prefix_path, accounts=..., releases=..., write_report=False)`` and must return
            an object with an ``accounts`` DataFrame (``account_id``, ``tier``).
        workdir: where prefix files go (a temporary folder by default).

    Returns:
        One row per campaign: ``campaign, accounts, requests, first_request`` (UTC),
        ``flagged`` (bool), ``hours_to_flag``, ``requests_to_flag``, ``share_to_flag`` (of the
        campaign's requests), ``scans`` (prefix scans run). Unflagged campaigns have NaN figures.

    Raises:
        InputError: from the scans (a prefix with no valid rows cannot happen after the first request).
    """
    from distillwatch.evaluate.metrics import _read_csv

    if scan_fn is None:
        from distillwatch.pipeline import scan as scan_fn
    t = truth if isinstance(truth, pd.DataFrame) else _read_csv(Path(truth), "truth file")
    att = t[t["label"] == "attack"]
    campaign_of = dict(zip(att["account_id"], att["campaign"]))
    log = index_log(requests)
    ok = log.ts_ms >= 0
    camp = np.array([campaign_of.get(a) for a in log.account], dtype=object)
    rows: dict[str, dict] = {}
    for name in sorted(set(campaign_of.values())):
        mask = ok & (camp == name)
        if not mask.any():
            continue
        first = int(log.ts_ms[mask].min())
        rows[name] = {"campaign": name, "accounts": int(len(set(log.account[mask]))), "requests": int(mask.sum()),
                      "first_request": pd.Timestamp(first, unit="ms", tz="UTC"), "flagged": False,
                      "hours_to_flag": np.nan, "requests_to_flag": np.nan, "share_to_flag": np.nan, "scans": 0,
                      "_ts": np.sort(log.ts_ms[mask]), "_first": first,
                      "_members": set(log.account[mask])}
    plan = sorted({(r["_first"] + int(h * 3_600_000), name) for name, r in rows.items() for h in checkpoints_h
                   if r["_first"] + int(h * 3_600_000) <= int(r["_ts"][-1]) or h == checkpoints_h[0]}
                  | {(int(r["_ts"][-1]), name) for name, r in rows.items()})  # and its last request
    times = sorted({at for at, _ in plan})
    wd = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="distillwatch-replay-"))
    wd.mkdir(parents=True, exist_ok=True)
    for at in times:
        due = [name for a, name in plan if a == at and not rows[name]["flagged"]]
        if not due:
            continue
        take = np.flatnonzero(ok & (log.ts_ms <= at))
        prefix = wd / "prefix.jsonl"
        with open(prefix, "wb") as fh:
            fh.write(b"\n".join(log.lines[i] for i in take) + b"\n")
        res = scan_fn(prefix, accounts=accounts, releases=releases, write_report=False)
        flagged = set(res.accounts.loc[res.accounts["tier"].isin(FLAG_TIERS), "account_id"])
        for name in due:
            r = rows[name]
            r["scans"] += 1
            if flagged & r["_members"]:
                seen = int(np.searchsorted(r["_ts"], at, side="right"))
                r.update(flagged=True, hours_to_flag=(at - r["_first"]) / 3_600_000, requests_to_flag=seen,
                         share_to_flag=seen / r["requests"])
    cols = ["campaign", "accounts", "requests", "first_request", "flagged", "hours_to_flag", "requests_to_flag",
            "share_to_flag", "scans"]
    return pd.DataFrame([{k: r[k] for k in cols} for r in rows.values()], columns=cols)
