"""Self-checks for the external generator and corrupter (small scale, fast).

These check the generator's own output, not distillwatch. They need the
shared data folder; they are skipped when it cannot be found.
"""
from __future__ import annotations

import csv
import ipaddress
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _sources  # noqa: E402

try:
    _sources.find_data_dir()
except FileNotFoundError:  # pragma: no cover
    pytest.skip("shared data folder not available", allow_module_level=True)

from corrupt import KINDS, corrupt  # noqa: E402
from generate import R_PRO3, generate  # noqa: E402

SCALE = 0.06
ROLES = {"system", "user", "assistant", "tool"}
VERIF = {"none", "email", "edu", "startup", "research", "verified_org"}
ACCOUNT_COLS = ["account_id", "created_at", "email_domain", "payment_fingerprint", "billing_country",
                "org_id", "verification", "signup_ip"]


def parse_ts(v) -> float:
    if isinstance(v, bool):
        raise ValueError("bool timestamp")
    if isinstance(v, int):
        return v / 1000.0
    if not isinstance(v, str) or not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", v):
        raise ValueError(f"bad timestamp {v!r}")
    return datetime.fromisoformat(v).timestamp()


def check_row(raw: bytes) -> dict:
    """Strict validation of one requests line; raises ValueError (or subclass) if malformed."""
    text = raw.decode("utf-8")
    r = json.loads(text)
    if not isinstance(r, dict):
        raise ValueError("not an object")
    for k in ("request_id", "account_id", "model"):
        if not isinstance(r.get(k), str) or not r[k]:
            raise ValueError(f"missing {k}")
    r["_t"] = parse_ts(r.get("timestamp"))
    if "client_ip" in r:
        ipaddress.ip_address(r["client_ip"])
    if "messages" in r:
        assert isinstance(r["messages"], list) and r["messages"]
        for m in r["messages"]:
            assert m["role"] in ROLES and isinstance(m["content"], str)
    elif not isinstance(r.get("prompt"), str):
        raise ValueError("neither messages nor prompt")
    for t in r.get("tools") or []:
        assert set(t) >= {"name", "description", "parameters"}
    for k in ("max_tokens", "input_tokens", "output_tokens", "status"):
        if k in r:
            assert isinstance(r[k], int) and not isinstance(r[k], bool)
    if "temperature" in r:
        assert isinstance(r["temperature"], float)
    if "stream" in r:
        assert isinstance(r["stream"], bool)
    return r


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("xgen")
    summary = generate(d / "a", seed=11, scale=SCALE)
    return d, summary


def test_requests_valid(gen_dir):
    d, summary = gen_dir
    lines = (d / "a" / "requests.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    rows = [check_row(ln) for ln in lines[:-1]]
    assert len(rows) == summary["n_requests"] > 500
    assert len({r["request_id"] for r in rows}) == len(rows)
    kinds = Counter(type(r["timestamp"]).__name__ for r in rows)
    assert kinds["int"] > 0 and kinds["str"] > 0
    assert any(r["timestamp"].endswith("Z") for r in rows if isinstance(r["timestamp"], str))
    assert any(re.search(r"[+-]\d\d:\d\d$", r["timestamp"]) for r in rows if isinstance(r["timestamp"], str))
    assert any(":" in r.get("client_ip", "") for r in rows), "expected some IPv6"
    assert any("prompt" in r for r in rows) and any("tools" in r for r in rows)
    assert any(m["role"] == "tool" for r in rows for m in r.get("messages", []))


def test_accounts_truth_releases(gen_dir):
    d, summary = gen_dir
    base = d / "a"
    with open(base / "accounts.csv", newline="") as f:
        rd = csv.DictReader(f)
        assert rd.fieldnames == ACCOUNT_COLS
        accts = list(rd)
    ids = [a["account_id"] for a in accts]
    assert len(set(ids)) == len(ids)
    for a in accts:
        assert re.fullmatch(r"acct_[0-9a-f]{12}", a["account_id"])
        assert a["verification"] in VERIF
        assert re.fullmatch(r"[A-Z]{2}", a["billing_country"])
        ipaddress.ip_address(a["signup_ip"])
        parse_ts(a["created_at"])
        assert "attack" not in a["email_domain"] and "bot" not in a["email_domain"]
    with open(base / "truth.csv", newline="") as f:
        truth = {r["account_id"]: r for r in csv.DictReader(f)}
    assert set(truth) == set(ids)
    assert {t["label"] for t in truth.values()} == {"attack", "benign"}
    camps = {t["campaign"] for t in truth.values() if t["label"] == "attack"}
    assert len(camps) >= 3
    assert all(t["campaign"].startswith("benign:") for t in truth.values() if t["label"] == "benign")
    req_accts = set()
    for ln in (base / "requests.jsonl").open("rb"):
        r = json.loads(ln)
        req_accts.add(r["account_id"])
        if truth[r["account_id"]]["label"] == "attack":
            ua = (r.get("user_agent") or "").lower()
            assert "attack" not in ua and "bot" not in ua
    assert req_accts <= set(ids)
    rel = [json.loads(x) for x in (base / "releases.jsonl").read_text().splitlines()]
    assert {"aurora-3-pro", "aurora-2-pro"} <= {r["model"] for r in rel}
    for r in rel:
        parse_ts(r["released_at"])


def test_campaign_shapes(gen_dir):
    d, _ = gen_dir
    base = d / "a"
    with open(base / "truth.csv", newline="") as f:
        camp = {r["account_id"]: r["campaign"] for r in csv.DictReader(f)}
    per_day = Counter()
    hydra_models = defaultdict(list)
    nat_accounts = defaultdict(set)
    for ln in (base / "requests.jsonl").open("rb"):
        r = json.loads(ln)
        t = parse_ts(r["timestamp"])
        c = camp[r["account_id"]]
        if c == "hydra_proxy":
            per_day[(r["account_id"], int(t // 86400))] += 1
            hydra_models[r["model"]].append(t)
        if c == "benign:university_nat" and "client_ip" in r:
            nat_accounts[r["client_ip"]].add(r["account_id"])
    assert max(per_day.values()) < 30
    # hydra pivots to the new model within 24h of its release
    assert min(hydra_models["aurora-3-pro"]) - R_PRO3 < 24 * 3600
    assert max(hydra_models["aurora-2-pro"]) - R_PRO3 < 24 * 3600
    assert max(len(v) for v in nat_accounts.values()) >= 0.8 * sum(c == "benign:university_nat"
                                                                     for c in camp.values())


def test_deterministic(gen_dir, tmp_path):
    d, _ = gen_dir
    generate(tmp_path / "b", seed=11, scale=SCALE)
    for name in ("requests.jsonl", "accounts.csv", "truth.csv", "releases.jsonl"):
        assert (d / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    generate(tmp_path / "c", seed=12, scale=SCALE)
    assert (d / "a" / "requests.jsonl").read_bytes() != (tmp_path / "c" / "requests.jsonl").read_bytes()


def test_parquet_matches_jsonl(gen_dir, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    d, summary = gen_dir
    s = generate(tmp_path / "p", seed=11, scale=SCALE, fmt="parquet")
    t = pq.read_table(tmp_path / "p" / "requests.parquet")
    assert t.num_rows == summary["n_requests"] == s["n_requests"]
    ids_j = [json.loads(x)["request_id"] for x in (d / "a" / "requests.jsonl").open("rb")]
    assert t.column("request_id").to_pylist() == ids_j
    for v in t.column("timestamp").to_pylist()[:500]:
        parse_ts(v)


def _classify(raw: bytes) -> str | None:
    """Which corruption kind a line shows, or None if it is a valid row."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "non_utf8"
    try:
        obj = json.loads(text)
    except ValueError:
        return "invalid_json"
    if not isinstance(obj, dict):
        return "non_object"
    if "account_id" not in obj:
        return "missing_account_id"
    try:
        parse_ts(obj.get("timestamp"))
    except ValueError:
        return "bad_timestamp"
    if "client_ip" in obj:
        try:
            ipaddress.ip_address(obj["client_ip"])
        except ValueError:
            return "bad_ip"
    check_row(raw)
    return None


@pytest.mark.parametrize("rate,seed", [(0.01, 0), (0.05, 3)])
def test_corrupt_reports_exactly(gen_dir, tmp_path, rate, seed):
    d, _ = gen_dir
    src = d / "a" / "requests.jsonl"
    dst = tmp_path / "bad.jsonl"
    rep = corrupt(src, dst, rate=rate, seed=seed)
    src_lines = src.read_bytes().split(b"\n")[:-1]
    dst_lines = dst.read_bytes().split(b"\n")
    assert dst_lines[-1] == b""
    dst_lines = dst_lines[:-1]
    assert len(dst_lines) == len(src_lines)
    by_kind = Counter(r["kind"] for r in rep)
    assert set(by_kind) == set(KINDS) and len(set(by_kind.values())) == 1
    assert abs(len(rep) - rate * len(src_lines)) <= len(KINDS)
    assert [r["line_no"] for r in rep] == sorted({r["line_no"] for r in rep})
    reported = {r["line_no"]: r["kind"] for r in rep}
    for i, (a, b) in enumerate(zip(src_lines, dst_lines), start=1):
        if i in reported:
            assert _classify(b) == reported[i], (i, reported[i], b[:200])
        else:
            assert a == b
    # deterministic
    assert corrupt(src, tmp_path / "bad2.jsonl", rate=rate, seed=seed) == rep
    assert (tmp_path / "bad2.jsonl").read_bytes() == dst.read_bytes()
