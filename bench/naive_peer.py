"""The naive peer: the scan's features and linking written the obvious way in plain pandas and networkx.

Run by ``bench/bench_naive.py`` in its own process (``python bench/naive_peer.py REQUESTS ACCOUNTS``);
prints one JSON line with its stage timings (seconds) and sizes. It is a yardstick, not a detector:

* read the Parquet file into pandas (messages become Python lists of dicts);
* per request, with Python string functions and ``re``: system and last user text, the
  capability lexicons of :mod:`distillwatch.signals.request` (first and last 1,500 characters),
  the system-prompt hash and client fingerprint (MD5), IP intelligence for each distinct address;
* prompt templates: sentences split and normalised as in ``mine_templates``, sentences in at least
  5 requests are template text, the skeleton is the tuple of their hashes (exact match, no LSH);
* per account: pandas ``groupby`` aggregates (requests, capability shares, distinct addresses, days);
* linking: the same artifacts (card, signup IP, IP per day, /24 per day, client fingerprint,
  system prompt, template) with the same hub limit, then, as one would write it first, an edge
  between every pair of accounts that share an artifact (networkx ``Graph``) and Louvain
  communities (``networkx.community.louvain_communities``, seed 0).
"""

from __future__ import annotations

import hashlib
import warnings
import json
import re
import sys
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import networkx as nx  # noqa: E402
import pandas as pd  # noqa: E402

from distillwatch.signals import request as S  # noqa: E402

warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
SPLIT = re.compile(r"[\n.?!:;]+")


def ends(t: str, n: int = S.SCAN_CHARS) -> str:
    return t if len(t) <= 2 * n else t[:n] + "\n" + t[-n:]


def main(requests: str, accounts: str) -> dict:
    """Run the naive pipeline; return stage timings (seconds) and counts."""
    tm: dict[str, float] = {}
    t = time.perf_counter()
    df = pd.read_parquet(requests)
    acc = pd.read_json(accounts, lines=True)
    tm["read"] = time.perf_counter() - t

    t = time.perf_counter()
    df["system_text"] = df["messages"].apply(lambda ms: "\n".join(m["content"] or "" for m in ms if m["role"] in ("system", "developer")) if ms is not None else "")
    df["user_text"] = df["messages"].apply(lambda ms: next((m["content"] for m in reversed(list(ms)) if m["role"] == "user"), "") if ms is not None else "")
    both = (df["system_text"] + " " + df["user_text"]).map(ends)
    user = df["user_text"].map(ends)
    flags = {"is_coding": (both, S.LEX_CODING), "is_agentic": (both, S.LEX_AGENTIC), "is_long": (user, S.LEX_LONG),
             "is_reasoning": (both, S.LEX_COT), "is_rubric": (both, S.LEX_RUBRIC), "is_maths": (user, S.LEX_MATHS)}
    for name, (col, pat) in flags.items():
        df[name] = col.str.contains(pat, flags=re.IGNORECASE, regex=True)
    df["is_long"] |= (df["max_tokens"].fillna(0) >= S.LONG_MAX_TOKENS) | (df["user_text"].str.len() >= S.LONG_PROMPT_CHARS)
    df["system_hash"] = df["system_text"].map(lambda s: hashlib.md5(s.encode()).hexdigest()[:16] if s else None)
    df["client_fp"] = [hashlib.md5("|".join(map(str, r)).encode()).hexdigest()[:16]
                       for r in zip(df["user_agent"], df["max_tokens"], df["temperature"], df["stream"], df["system_hash"])]
    from distillwatch.intel import load_intel

    intel = load_intel(None)
    ips = df["client_ip"].dropna().unique().tolist()
    looked = intel.lookup(ips).to_pandas().rename(columns={"ip": "client_ip"})
    df = df.merge(looked[["client_ip", "asn", "prefix", "proxy_kind"]], on="client_ip", how="left")
    tm["request_features"] = time.perf_counter() - t

    t = time.perf_counter()

    def sentences(s: str, u: str) -> list[str]:
        us = SPLIT.split(ends(u))
        ss = SPLIT.split(s[:4000])[:8]
        picked = ss + (us if len(us) <= 8 else us[:4] + us[-4:])
        out = [re.sub(r"\s+", " ", re.sub(r"[0-9]+", "0", x.lower())).strip() for x in picked]
        return [x for x in out if len(x) >= 16]

    sents = [sentences(s, u) for s, u in zip(df["system_text"], df["user_text"])]
    counts = Counter(x for ss in sents for x in set(ss))
    df["template_id"] = [hashlib.md5("|".join(x for x in ss if counts[x] >= 5).encode()).hexdigest()[:12]
                         if any(counts[x] >= 5 for x in ss) else None for ss in sents]
    tm["templates"] = time.perf_counter() - t

    t = time.perf_counter()
    caps = ["is_coding", "is_agentic", "is_long", "is_reasoning", "is_rubric", "is_maths"]
    df["day"] = pd.to_datetime(df["timestamp"], unit="ms", utc=True).dt.strftime("%Y-%m-%d")
    feats = df.groupby("account_id").agg(n_requests=("request_id", "size"), n_ips=("client_ip", "nunique"),
                                         n_days=("day", "nunique"), **{c: (c, "mean") for c in caps})
    tm["account_features"] = time.perf_counter() - t

    t = time.perf_counter()
    arts = [df[["account_id", "template_id"]].dropna().rename(columns={"template_id": "a"}).assign(k="template"),
            df[["account_id", "system_hash"]].dropna().rename(columns={"system_hash": "a"}).assign(k="system"),
            df[["account_id", "client_fp"]].rename(columns={"client_fp": "a"}).assign(k="fp"),
            pd.DataFrame({"account_id": df["account_id"], "a": df["client_ip"] + "@" + df["day"], "k": "ip_day"}).dropna(),
            pd.DataFrame({"account_id": df["account_id"], "a": df["prefix"] + "@" + df["day"], "k": "prefix_day"}).dropna(),
            acc[["account_id", "payment_fingerprint"]].dropna().rename(columns={"payment_fingerprint": "a"}).assign(k="card"),
            acc[["account_id", "signup_ip"]].dropna().rename(columns={"signup_ip": "a"}).assign(k="signup")]
    a = pd.concat(arts).drop_duplicates()
    n_acc = df["account_id"].nunique()
    hub = max(50, int(0.05 * n_acc))
    g = nx.Graph()
    n_pairs = 0
    for _, members in a.groupby(["k", "a"])["account_id"]:
        m = sorted(set(members))
        if 2 <= len(m) <= hub:
            for u, v in combinations(m, 2):
                w = g.get_edge_data(u, v, {"weight": 0})["weight"]
                g.add_edge(u, v, weight=w + 1)
                n_pairs += 1
    tm["link_graph"] = time.perf_counter() - t
    t = time.perf_counter()
    comms = nx.community.louvain_communities(g, weight="weight", seed=0) if g.number_of_edges() else []
    tm["communities"] = time.perf_counter() - t
    return {"timings_s": {k: round(v, 2) for k, v in tm.items()}, "requests": len(df), "accounts": n_acc,
            "pairs": n_pairs, "edges": g.number_of_edges(), "communities": sum(1 for c in comms if len(c) >= 3),
            "accounts_featured": len(feats)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
