"""Throughput of ``PromptClassifier.classify_batch`` on realistic request texts (prints requests/s).

Texts: real user turns from ``../shared/data/prompts`` (ShareGPT, HH-RLHF, AlpacaEval,
GPTeacher, GSM8K, BFCL), a third of them wrapped in the simulator's extraction wrappers and a
fifth given a system prompt, as in simulated traffic. Without the shared bundle the loader
falls back to the BFCL data of ``bfcl-eval``. Runs single-threaded in this process, in batches
of 65,536 rows (``Engine.map_batches``'s default).

Usage: ``PYTHONPATH=src python bench/bench_classifier.py [--rows 200000] [--batch 65536]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.classify import PromptClassifier
from distillwatch.classify.features import request_text
from distillwatch.corpora.loader import KINDS, load_corpora
from distillwatch.simulate import wrappers as W


def realistic_batch(rows: int, seed: int = 0) -> pa.RecordBatch:
    """A record batch (request_id, system_text, user_text, n_tools) of ``rows`` realistic requests."""
    rng = np.random.default_rng(seed)
    c = load_corpora()
    texts = [t for k in KINDS for p in c.kind(k) for t in p.user_turns[-3:]]
    fams = [W.COT, W.CAREFUL, W.HYDRA_TASK, W.DATAGEN]
    systems = ["You are a helpful assistant.", W.HYDRA_SYSTEM.render(rng), W.HYDRA_AGENT.render(rng),
               "You are a coding assistant. Answer concisely and use Markdown code blocks."]
    pool_n = min(rows, 20_000)
    users, syss = [], []
    for i in range(pool_n):
        t = texts[int(rng.integers(len(texts)))]
        if rng.random() < 1 / 3:
            t = fams[int(rng.integers(len(fams)))].render(rng, content=t)
        users.append(t)
        syss.append(systems[int(rng.integers(len(systems)))] if rng.random() < 0.2 else "")
    idx = rng.integers(pool_n, size=rows)
    return pa.RecordBatch.from_arrays(
        [pa.array([f"r{i}" for i in range(rows)]), pa.array(syss).take(pa.array(idx)),
         pa.array(users).take(pa.array(idx)), pa.array(rng.integers(0, 2, size=rows) * rng.integers(0, 6, size=rows))],
        names=["request_id", "system_text", "user_text", "n_tools"])


def main() -> None:
    """Print requests/s (wall clock and CPU time), characters classified per request and chars/s for ``classify_batch``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=65_536)
    a = ap.parse_args()
    pa.set_cpu_count(1)  # single-threaded: the per-core figure
    t0 = time.perf_counter()
    clf = PromptClassifier.load()
    print(f"model load: {time.perf_counter() - t0:.3f} s")
    batch = realistic_batch(a.rows)
    chars = pc.utf8_length(request_text(batch.column("system_text"), batch.column("user_text"), clf.scan_chars))
    mean_chars = pc.mean(chars).as_py()
    clf.classify_batch(batch.slice(0, 1000))  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for off in range(0, batch.num_rows, a.batch):
        out = clf.classify_batch(batch.slice(off, a.batch))
        n += out.num_rows
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    total_chars = pc.sum(chars).as_py()
    print(f"rows: {n}; mean characters classified per request: {mean_chars:.0f}; Arrow threads: {pa.cpu_count()}")
    print(f"classify_batch, wall clock: {n / dt:,.0f} requests/s ({total_chars / dt / 1e6:.1f} M chars/s, {dt:.2f} s)")
    print(f"classify_batch, CPU time of this process: {n / cpu:,.0f} requests/s ({cpu:.2f} s; the wall figure is "
          "lower when other processes share the cores)")


if __name__ == "__main__":
    main()
