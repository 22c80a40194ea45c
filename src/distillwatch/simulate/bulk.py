"""Bulk generator: tens of millions of requests straight to Parquet, vectorised, in bounded memory.

``simulate()`` (:mod:`distillwatch.simulate.core`) builds every request as a Python dict, which
is right for the detailed archetypes of ~100k requests and far too slow for the size of the
reported campaign. :func:`simulate_bulk` draws the same kind of traffic column by column with
numpy and pyarrow, one time slice at a time, and appends each slice to a Parquet file with
``pyarrow.parquet.ParquetWriter``. Memory is bounded by the slice size, not by the log size.

Shape (defaults; source: the February 2026 distillation disclosure, about 25,000 accounts sending
about 28.8 million requests over 45 days, i.e. about 25.6 requests per account per day):

* campaign: ``campaign_accounts`` accounts (default ``25_000 x n_requests / 28.8M``) sending a
  ``campaign_share`` of all requests, round the clock; accounts come in clusters of
  ``cluster_size`` that share a pool of proxy addresses (datacenter ranges), three payment cards
  and one rendering of the ``HYDRA_SYSTEM`` system prompt; every user message is a real coding,
  tool-use or maths prompt from the corpora wrapped in a ``HYDRA_TASK`` template
  (:mod:`distillwatch.simulate.wrappers`, the project's own text);
* benign: ``benign_accounts`` accounts (default: the benign requests / ``benign_mean_requests``)
  with lognormal activity (sigma 1.2), one residential address and one card each, sending real
  chat prompts (``benign_chat``), a quarter of them under a common assistant system prompt.

Everything is keyed by ``seed``: the same arguments give the same rows. Request ids are
``req_`` + 8 hex digits of the seed + 16 hex digits of the row number, unique by construction.
Timestamps are integer epoch milliseconds (UTC); the file is in time order.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillwatch.simulate.wrappers import HYDRA_SYSTEM, HYDRA_TASK
from distillwatch.simulate.world import parse_time

DISCLOSED_REQUESTS = 28_800_000
"""Requests in the disclosed campaign (2026 distillation disclosure, 45 days)."""
DISCLOSED_ACCOUNTS = 25_000
"""Accounts in the disclosed campaign (same source)."""
DAY_S = 86_400.0

BENIGN_SYSTEM = ("You are a helpful assistant.", "You are a helpful, harmless and honest assistant.",
                 "You are ChatGPT-style assistant for our customer portal. Answer briefly and politely.")
"""System prompts many unrelated benign customers send (hubs the linker must not merge on)."""
BENIGN_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
             "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
             "OpenAI/Python 1.54.3", "openai-node/4.71.0", "python-httpx/0.27.2", "curl/8.5.0",
             "langchain-openai/0.2.9 OpenAI/Python 1.54.3")
CAMPAIGN_UA = ("python-requests/2.32.3", "aiohttp/3.10.10", "OpenAI/Python 1.51.0")
MODELS = ("aurora-2", "aurora-2-mini", "aurora-3")
_ROLES = pa.array(["system", "user"], pa.string())
_MODELS = pa.array(MODELS, pa.string())
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_SCHEMA = pa.schema([
    ("request_id", pa.string()), ("timestamp", pa.int64()), ("account_id", pa.string()),
    ("api_key_id", pa.string()), ("org_id", pa.string()), ("client_ip", pa.string()),
    ("user_agent", pa.string()), ("model", pa.string()),
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("max_tokens", pa.int64()), ("temperature", pa.float64()), ("stream", pa.bool_()),
    ("input_tokens", pa.int64()), ("output_tokens", pa.int64()), ("status", pa.int64()),
])
"""Columns of ``requests.parquet``: the input contract (``docs/input-format.md``) with Parquet types."""


@dataclass(frozen=True)
class BulkParams:
    """Size and shape of a bulk log (see the module docstring for the model).

    Attributes:
        n_requests: rows to write (exactly).
        days: window length (days); ``start``: window start (RFC 3339, UTC).
        campaign_share: share of requests sent by the campaign (0..1).
        campaign_accounts: campaign accounts; None: ``25_000 * n_requests / 28.8M`` (at least one cluster).
        cluster_size: campaign accounts per shared proxy pool / card set / system prompt.
        proxies_per_cluster: addresses in each cluster's proxy pool.
        benign_accounts: benign accounts; None: benign requests / ``benign_mean_requests``.
        benign_mean_requests: mean requests per benign account over the window.
        batch_rows: rows per time slice (one Parquet row group each); bounds memory.
    """

    n_requests: int
    days: int = 45
    start: str = "2026-01-05T00:00:00Z"
    campaign_share: float = 0.5
    campaign_accounts: int | None = None
    cluster_size: int = 50
    proxies_per_cluster: int = 40
    benign_accounts: int | None = None
    benign_mean_requests: float = 60.0
    batch_rows: int = 500_000

    def resolved(self) -> "BulkParams":
        """Fill the defaults that depend on ``n_requests``.

        Raises:
            ValueError: a size is not positive or a share is outside 0..1.
        """
        if self.n_requests <= 0 or self.days <= 0 or self.batch_rows <= 0 or self.cluster_size <= 0:
            raise ValueError("n_requests, days, batch_rows and cluster_size must be > 0")
        if not 0.0 <= self.campaign_share <= 1.0:
            raise ValueError(f"campaign_share must be in 0..1, got {self.campaign_share}")
        ca = self.campaign_accounts
        if ca is None:
            ca = max(self.cluster_size, round(DISCLOSED_ACCOUNTS * self.n_requests / DISCLOSED_REQUESTS))
        ca = ca if self.campaign_share > 0 else 0
        ba = self.benign_accounts
        if ba is None:
            ba = max(1, round((1 - self.campaign_share) * self.n_requests / self.benign_mean_requests))
        ba = ba if self.campaign_share < 1 else 0
        return dataclasses.replace(self, campaign_accounts=int(ca), benign_accounts=int(ba))


def _hex_ids(prefix: bytes, values: np.ndarray, digits: int) -> pa.StringArray:
    """``prefix`` + ``digits`` lower-case hex digits of each unsigned integer in ``values``, as one Arrow array.

    Vectorised: the digits are built in a fixed-width byte matrix and wrapped as Arrow buffers.
    """
    v = values.astype(np.uint64)
    n, w = len(v), len(prefix) + digits
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nib = ((v[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.intp)
    mat = np.empty((n, w), dtype=np.uint8)
    mat[:, :len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    mat[:, len(prefix):] = _HEX[nib]
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes()))


def _split_wrapper(text: str) -> tuple[str, str]:
    pre, _, post = text.partition("\x00")
    return pre, post


def _prompt_texts(corpora, kinds: tuple[str, ...]) -> pa.StringArray:
    """First user message of every prompt of ``kinds`` (real corpus text, verbatim)."""
    texts = [p.text for k in kinds for p in corpora.kind(k) if p.text]
    if not texts:
        raise ValueError(f"the corpora have no prompts of kinds {kinds}")
    return pa.array(texts, pa.string())


def simulate_bulk(out_dir: str | Path, params: BulkParams, seed: int = 0, intel=None, corpora=None,
                  progress=None) -> dict:
    """Write ``requests.parquet``, ``accounts.jsonl``, ``truth.csv`` and ``manifest.json`` into ``out_dir``.

    Args:
        out_dir: output folder (created).
        params: :class:`BulkParams` (sizes; defaults resolved with :meth:`BulkParams.resolved`).
        seed: random seed; same seed and params, same rows.
        intel: an ``IntelDB`` (addresses are drawn from its real ranges); loaded when None.
        corpora: ``Corpora``; loaded when None (shared bundle, else the ``bfcl-eval`` fallback).
        progress: optional callback ``(rows_written, n_requests)`` after each slice.

    Returns:
        The manifest dict (also written to ``manifest.json``): sizes, seconds (wall time) and
        rows per second of the whole run.

    Raises:
        ValueError: bad sizes (see :meth:`BulkParams.resolved`); the corpora lack a needed kind.
        distillwatch.corpora.CorpusError, distillwatch.intel.IntelError: no corpora / no ranges.
    """
    t_begin = time.perf_counter()
    p = params.resolved()
    if intel is None:
        from distillwatch.intel import load_intel
        intel = load_intel(None)
    if corpora is None:
        from distillwatch.corpora import load_corpora
        corpora = load_corpora(seed=seed)
    rng = np.random.default_rng([int(seed), 0xB01C])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = parse_time(p.start) * 1000.0
    span_ms = p.days * DAY_S * 1000.0
    release_ms = t0 + 0.4 * span_ms  # the new model ships 40 % into the window

    # ---------------------------------------------------------------- accounts
    nc, nb = p.campaign_accounts, p.benign_accounts
    na = nc + nb
    n_clusters = max(1, -(-nc // p.cluster_size)) if nc else 0
    acct_ids = _hex_ids(b"acct_", rng.integers(0, 2**63, na, dtype=np.uint64), 16)
    if pc.count_distinct(acct_ids).as_py() != na:
        raise RuntimeError("account id collision; try another seed")
    key_ids = _hex_ids(b"key_", rng.integers(0, 2**63, na, dtype=np.uint64), 16)
    cluster = np.full(na, -1, np.int64)
    cluster[:nc] = np.arange(nc) // p.cluster_size
    is_camp = cluster >= 0
    # campaign cards: 3 per cluster; benign: one own card each (30 % none)
    card_vals = rng.integers(0, 2**63, na, dtype=np.uint64)
    card_vals[:nc] = rng.integers(0, 2**63, max(n_clusters, 1) * 3, dtype=np.uint64)[cluster[:nc] * 3 + rng.integers(0, 3, nc)]
    cards = _hex_ids(b"card_", card_vals, 16)
    no_card = np.zeros(na, bool)
    no_card[nc:] = rng.random(nb) < 0.3
    cards = pc.if_else(pa.array(no_card), pa.scalar(None, pa.string()), cards)
    home_ip = pa.array(intel.sample_ips("residential", na, rng) if na else [], pa.string())
    camp_pool = pa.array(intel.sample_ips("datacenter", n_clusters * p.proxies_per_cluster, rng)
                         if n_clusters else [], pa.string())
    # activity weights: campaign flat (+-20 %), benign lognormal
    weight = np.empty(na)
    weight[:nc] = rng.uniform(0.8, 1.2, nc)
    weight[nc:] = rng.lognormal(0.0, 1.2, nb)
    cum_c = np.cumsum(weight[:nc])
    cum_b = np.cumsum(weight[nc:])
    ua_of = np.where(is_camp, rng.integers(0, len(CAMPAIGN_UA), na), rng.integers(0, len(BENIGN_UA), na))
    ua_pool = pa.array(CAMPAIGN_UA + BENIGN_UA, pa.string())
    ua_idx = np.where(is_camp, ua_of, len(CAMPAIGN_UA) + ua_of)
    org_ids = pc.if_else(pa.array(rng.random(na) < 0.4), _hex_ids(b"org_", rng.integers(0, 2**63, na, dtype=np.uint64), 12),
                         pa.scalar(None, pa.string()))
    benign_sys_of = np.where(rng.random(na) < 0.25, rng.integers(0, len(BENIGN_SYSTEM), na), -1)

    # ---------------------------------------------------------------- texts
    camp_texts = _prompt_texts(corpora, ("coding", "tool_use", "maths"))
    benign_texts = _prompt_texts(corpora, ("benign_chat",))
    n_wrap = 16
    wrap_rng = np.random.default_rng([int(seed), 0x3A7])
    wraps = [_split_wrapper(HYDRA_TASK.render(wrap_rng, content="\x00")) for _ in range(n_wrap)]
    wrap_pre = pa.array([w[0] for w in wraps], pa.string())
    wrap_post = pa.array([w[1] for w in wraps], pa.string())
    sys_texts = pa.array([HYDRA_SYSTEM.render(wrap_rng) for _ in range(max(n_clusters, 1))] + list(BENIGN_SYSTEM),
                         pa.string())
    n_csys = max(n_clusters, 1)

    # ---------------------------------------------------------------- requests, slice by slice
    n_slices = -(-p.n_requests // p.batch_rows)
    bounds = np.linspace(0, span_ms, n_slices + 1)
    path = out / "requests.parquet"
    written = 0
    n_camp_rows = 0
    with pq.ParquetWriter(path, _SCHEMA, compression="zstd") as writer:
        for s in range(n_slices):
            b = min(p.batch_rows, p.n_requests - written)
            ts = np.sort(rng.uniform(bounds[s], bounds[s + 1], b)) + t0
            camp = rng.random(b) < (p.campaign_share if nb else 1.0) if nc else np.zeros(b, bool)
            k = int(camp.sum())
            acct = np.empty(b, np.int64)
            acct[camp] = np.searchsorted(cum_c, rng.random(k) * cum_c[-1], side="right") if k else []
            acct[~camp] = nc + np.searchsorted(cum_b, rng.random(b - k) * cum_b[-1], side="right") if b - k else []
            acct = np.minimum(acct, na - 1)
            cl = cluster[acct]
            # addresses: campaign rotates over its cluster's pool; benign mostly home, 10 % elsewhere
            ip_idx = np.where(camp, cl * p.proxies_per_cluster + rng.integers(0, p.proxies_per_cluster, b), 0)
            ips = pc.if_else(pa.array(camp), camp_pool.take(pa.array(np.maximum(ip_idx, 0))) if nc else home_ip.take(pa.array(acct)),
                             home_ip.take(pa.array(acct)))
            roam = ~camp & (rng.random(b) < 0.1)
            if roam.any():
                roam_ips = pa.array(intel.sample_ips("residential", int(roam.sum()), rng), pa.string())
                pos = np.cumsum(roam) - 1
                ips = pc.if_else(pa.array(roam), roam_ips.take(pa.array(np.maximum(pos, 0))), ips)
            # user text: campaign = wrapper(pre) + corpus task + wrapper(post); benign = chat prompt
            w = rng.integers(0, n_wrap, b)
            user_c = pc.binary_join_element_wise(wrap_pre.take(pa.array(w)),
                                                 camp_texts.take(pa.array(rng.integers(0, len(camp_texts), b))),
                                                 wrap_post.take(pa.array(w)), "")
            user_b = benign_texts.take(pa.array(rng.integers(0, len(benign_texts), b)))
            user = pc.if_else(pa.array(camp), user_c, user_b)
            sys_idx = np.where(camp, cl, np.where(benign_sys_of[acct] >= 0, n_csys + benign_sys_of[acct], -1))
            has_sys = sys_idx >= 0
            n_msg = 1 + has_sys.astype(np.int32)
            offsets = np.zeros(b + 1, np.int32)
            np.cumsum(n_msg, out=offsets[1:])
            user_pos = offsets[1:] - 1
            content_take = np.empty(offsets[-1], np.int64)
            content_take[user_pos] = np.arange(b)  # index into `user`
            sys_pos = offsets[:-1][has_sys]
            content_take[sys_pos] = b + np.arange(int(has_sys.sum()))  # index into the system texts below
            contents = pa.concat_arrays([user, sys_texts.take(pa.array(sys_idx[has_sys]))]).take(pa.array(content_take))
            roles = np.full(offsets[-1], 1, np.int8)
            roles[sys_pos] = 0
            role_arr = _ROLES.take(pa.array(roles))
            messages = pa.ListArray.from_arrays(pa.array(offsets), pa.StructArray.from_arrays(
                [role_arr, contents], names=["role", "content"]))
            # model: the new model after the release (campaign switches at once, benign gradually)
            p_new = np.where(ts < release_ms, 0.0, np.where(camp, 0.95, np.minimum(1.0, (ts - release_ms) / (0.4 * span_ms))))
            u = rng.random(b)
            model_idx = np.where(u < p_new, 2, np.where(rng.random(b) < 0.2, 1, 0))
            max_tok = np.where(camp, 8192, rng.choice(np.array([512, 1024, 2048, 4096]), b))
            out_tok = np.minimum(max_tok, np.where(camp, rng.lognormal(np.log(2800), 0.5, b), rng.lognormal(np.log(350), 0.9, b))).astype(np.int64)
            fail = rng.random(b)
            status = np.where(fail < 0.006, 429, np.where(fail < 0.009, 500, 200))
            out_tok = np.where(status == 200, np.maximum(out_tok, 1), 0)
            in_tok = (pc.utf8_length(user).to_numpy(zero_copy_only=False) // 4 + 8 + 60 * has_sys).astype(np.int64)
            batch = pa.record_batch([
                _hex_ids(b"req_%08x" % (seed & 0xFFFFFFFF), np.arange(written, written + b, dtype=np.uint64), 16),
                pa.array(np.round(ts).astype(np.int64)),
                acct_ids.take(pa.array(acct)), key_ids.take(pa.array(acct)), org_ids.take(pa.array(acct)), ips,
                ua_pool.take(pa.array(ua_idx[acct])), _MODELS.take(pa.array(model_idx)), messages,
                pa.array(max_tok.astype(np.int64)),
                pa.array(np.where(camp, 0.7, np.round(rng.uniform(0.0, 1.2, b), 2))),
                pa.array(~camp & (rng.random(b) < 0.6)),
                pa.array(in_tok), pa.array(out_tok), pa.array(status.astype(np.int64)),
            ], schema=_SCHEMA)
            writer.write_batch(batch)
            written += b
            n_camp_rows += k
            if progress:
                progress(written, p.n_requests)

    # ---------------------------------------------------------------- side files
    countries = np.array(["US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "SG", "NL"])
    created = t0 - rng.uniform(1, 400, na) * DAY_S * 1000.0
    created[:nc] = t0 - rng.uniform(1, 10, nc) * DAY_S * 1000.0
    created_iso = np.datetime_as_string(np.round(created).astype("datetime64[ms]"), unit="ms", timezone="UTC")
    ctry = countries[rng.integers(0, len(countries), na)]
    verif = np.where(is_camp, np.where(rng.random(na) < 0.5, "email", "none"),
                     np.array(["none", "email", "startup", "verified_org"])[rng.integers(0, 4, na)])
    ids_py, cards_py, home_py = acct_ids.to_pylist(), cards.to_pylist(), home_ip.to_pylist()
    orgs_py = org_ids.to_pylist()
    with open(out / "accounts.jsonl", "wb") as fh:
        for i in range(na):
            fh.write(orjson.dumps({"account_id": ids_py[i], "created_at": str(created_iso[i]),
                                   "email_domain": "mailbox.example" if is_camp[i] else "example.com",
                                   "payment_fingerprint": cards_py[i], "billing_country": str(ctry[i]),
                                   "org_id": orgs_py[i], "verification": str(verif[i]), "signup_ip": home_py[i]})
                     + b"\n")
    with open(out / "truth.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("account_id,label,campaign\n")
        for i in range(na):
            fh.write(f"{ids_py[i]},{'attack' if is_camp[i] else 'benign'},{'attack:bulk' if is_camp[i] else 'benign:bulk'}\n")
    seconds = time.perf_counter() - t_begin
    manifest = {"generator": "distillwatch.simulate.bulk", "seed": int(seed), "params": dataclasses.asdict(p),
                "n_requests": written, "campaign_requests": n_camp_rows, "n_accounts": na,
                "campaign_accounts": nc, "benign_accounts": nb, "campaign_clusters": n_clusters,
                "corpora": {"mode": corpora.mode, "sources": corpora.sources},
                "seconds": round(seconds, 3), "rows_per_s": round(written / seconds, 1),
                "files": {"requests": str(path), "accounts": str(out / "accounts.jsonl"), "truth": str(out / "truth.csv")}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return manifest
