"""Inject malformed rows into a requests JSONL file (standard library only).

    corrupt(src_jsonl, dst_jsonl, rate=0.01, seed=0) -> list[dict]

Copies ``src_jsonl`` to ``dst_jsonl`` line for line, replacing about ``rate``
of the lines with malformed ones, in equal parts of six kinds:

==================  ==========================================================
kind                what the replaced line looks like
==================  ==========================================================
invalid_json        the original line cut short (never parses as JSON)
missing_account_id  the original row without its ``account_id`` key
bad_timestamp       ``timestamp`` set to e.g. ``"yesterday"`` or ``"2026-13-45T99:00:00Z"``
bad_ip              ``client_ip`` set to e.g. ``"999.1.2.3"`` or ``"not-an-ip"``
non_utf8            the original row with raw bytes ``\\xff\\xfe`` inside a string value
non_object          valid JSON that is not an object, e.g. ``[1,2]``
==================  ==========================================================

Returns ``[{"line_no": int (1-based), "kind": str}, ...]`` sorted by line
number, one entry per corrupted line; every other line is byte-identical to
the source. The line count is unchanged.

CLI: ``python tests/external/corrupt.py SRC DST --rate 0.01 --seed 0``
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

KINDS = ("invalid_json", "missing_account_id", "bad_timestamp", "bad_ip", "non_utf8", "non_object")

_BAD_TIMESTAMPS = ["yesterday", "2026-13-45T99:00:00Z", "not a timestamp", "32/13/2026 25:61"]
_BAD_IPS = ["999.1.2.3", "not-an-ip", "1.2.3", "256.256.256.256", "2001:db8::zz"]
_NON_OBJECTS = [b"[1,2]", b"42", b'"just a string"', b"null", b"[]", b"true"]


def _dump(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _make(kind: str, line: bytes, rnd: random.Random) -> bytes:
    body = line.rstrip(b"\r\n")
    if kind == "non_object":
        return rnd.choice(_NON_OBJECTS)
    if kind == "invalid_json":
        for _ in range(100):
            cut = rnd.randint(1, max(1, len(body) - 1))
            cand = body[:cut]
            try:
                text = cand.decode("utf-8")  # never split a multi-byte character
            except UnicodeDecodeError:
                continue
            try:
                json.loads(text)
            except ValueError:
                return cand
        return b'{"request_id": "'
    obj = json.loads(body)
    if not isinstance(obj, dict):
        obj = {"request_id": "corrupt", "value": obj}
    if kind == "missing_account_id":
        obj.pop("account_id", None)
        return _dump(obj)
    if kind == "bad_timestamp":
        obj["timestamp"] = rnd.choice(_BAD_TIMESTAMPS)
        return _dump(obj)
    if kind == "bad_ip":
        obj["client_ip"] = rnd.choice(_BAD_IPS)
        return _dump(obj)
    if kind == "non_utf8":
        for key in ("user_agent", "model", "request_id"):
            if isinstance(obj.get(key), str):
                break
        else:
            key = "model"
            obj[key] = "m"
        obj[key] = "\x00MARK\x00" + obj[key]
        raw = _dump(obj)
        # json.dumps escapes the NULs as \u0000, which is unique enough to find
        return raw.replace(b"\\u0000MARK\\u0000", b"\xff\xfe", 1)
    raise ValueError(kind)


def corrupt(src_jsonl, dst_jsonl, rate: float = 0.01, seed: int = 0) -> list[dict]:
    data = Path(src_jsonl).read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    n = len(lines)
    per_kind = max(1, int(round(n * rate / len(KINDS))))
    total = per_kind * len(KINDS)
    if total > n:
        raise ValueError(f"{n} lines cannot hold {total} corrupted lines")
    rnd = random.Random(seed)
    picked = sorted(rnd.sample(range(n), total))
    kinds = [k for k in KINDS for _ in range(per_kind)]
    rnd.shuffle(kinds)
    report = []
    for idx, kind in zip(picked, kinds):
        lines[idx] = _make(kind, lines[idx], rnd)
        report.append({"line_no": idx + 1, "kind": kind})
    with open(dst_jsonl, "wb") as f:
        for ln in lines:
            f.write(ln)
            f.write(b"\n")
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="inject malformed lines into a requests JSONL file")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--rate", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--report", help="write the list of corrupted lines here as JSON")
    args = ap.parse_args(argv)
    rep = corrupt(args.src, args.dst, args.rate, args.seed)
    if args.report:
        Path(args.report).write_text(json.dumps(rep, indent=1))
    print(json.dumps({"corrupted": len(rep), "by_kind": {k: sum(r["kind"] == k for r in rep) for k in KINDS}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
