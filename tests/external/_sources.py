"""Corpus and IP-intelligence loaders for the external log generator.

Standard library + numpy only. Nothing here imports distillwatch.
Everything is read from the shared data folder (see ``find_data_dir``) and
cached per process, because the files are the slow part of generation.
"""
from __future__ import annotations

import csv
import gzip
import io
import ipaddress
import json
import os
import re
import socket
import struct
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------
# locating the data
# --------------------------------------------------------------------------


def find_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Shared data folder: explicit arg, $DISTILLWATCH_SHARED_DATA, ../shared/data."""
    cands = []
    if explicit:
        cands.append(Path(explicit))
    env = os.environ.get("DISTILLWATCH_SHARED_DATA")
    if env:
        cands.append(Path(env))
    here = Path(__file__).resolve()
    # tests/external/_sources.py -> repo root is parents[2]; shared/ sits beside or inside it
    cands += [p / "shared" / "data" for p in here.parents[1:4]]
    cands.append(Path("/work/shared/data"))
    for c in cands:
        if (c / "prompts").is_dir() and (c / "ip").is_dir():
            return c
    raise FileNotFoundError("shared data folder not found; set DISTILLWATCH_SHARED_DATA")


def _open_text(p: Path):
    if p.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8")
    return open(p, encoding="utf-8")


def _read_json_any(p: Path):
    """A JSON array file or a JSON-lines file (gz or not)."""
    with _open_text(p) as f:
        text = f.read()
    s = text.lstrip()
    if s.startswith("["):
        return json.loads(s)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------
# prompt corpora
# --------------------------------------------------------------------------

_HH_SPLIT = re.compile(r"\n\n(Human|Assistant):[ ]?")


def _parse_hh(transcript: str):
    """'\\n\\nHuman: .. \\n\\nAssistant: ..' -> list of (human, assistant) pairs."""
    parts = _HH_SPLIT.split(transcript)
    turns: list[list[str]] = []
    # parts: [prefix, role, text, role, text, ...]
    for i in range(1, len(parts) - 1, 2):
        role = "user" if parts[i] == "Human" else "assistant"
        text = parts[i + 1].strip()
        if turns and turns[-1][0] == role:
            turns[-1][1] = (turns[-1][1] + "\n\n" + text).strip()
        else:
            turns.append([role, text])
    pairs = []
    k = 0
    while k < len(turns) and turns[k][0] != "user":
        k += 1
    while k + 1 < len(turns):
        if turns[k][0] == "user" and turns[k + 1][0] == "assistant" and turns[k][1]:
            pairs.append((turns[k][1], turns[k + 1][1]))
        k += 2
    return pairs


def _fix_schema(obj):
    """BFCL uses JSON-schema with type 'dict'; real APIs want 'object'."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "type" and v == "dict":
                out[k] = "object"
            else:
                out[k] = _fix_schema(v)
        return out
    if isinstance(obj, list):
        return [_fix_schema(x) for x in obj]
    return obj


class Corpora:
    def __init__(self, data: Path):
        P = data / "prompts"
        # --- benign ---
        self.hh: list[list[tuple[str, str]]] = []
        with _open_text(P / "benign/hh_rlhf/harmless-base-test.jsonl.gz") as f:
            for line in f:
                if not line.strip():
                    continue
                pairs = _parse_hh(json.loads(line)["chosen"])
                if pairs:
                    self.hh.append(pairs)
        self.aeval: list[tuple[str, str]] = [
            (r["instruction"].strip(), (r.get("output") or "").strip())
            for r in _read_json_any(P / "benign/alpaca_eval/outputs.json.gz")
            if r.get("instruction")
        ]
        # --- extraction ---
        self.toolformer: list[tuple[str, str, str]] = [
            (r["instruction"].strip(), (r.get("input") or "").strip(), (r.get("response") or "").strip())
            for r in _read_json_any(P / "distill/gpteacher/toolformer-dedupe-only-dataset.json.gz")
            if r.get("instruction")
        ]
        self.codegen: list[tuple[str, str, str]] = [
            (r["instruction"].strip(), (r.get("input") or "").strip(), (r.get("response") or "").strip())
            for r in _read_json_any(P / "distill/gpteacher/codegen-instruct.json.gz")
            if r.get("instruction") and r.get("response")
        ]
        self.seed: list[tuple[str, str, str]] = []
        for r in _read_json_any(P / "distill/alpaca/seed_tasks.jsonl"):
            for inst in r.get("instances") or [{}]:
                self.seed.append((r["instruction"].strip(), (inst.get("input") or "").strip(),
                                  (inst.get("output") or "").strip()))
        self.gsm8k: list[tuple[str, str]] = [
            (r["question"].strip(), r["answer"].strip())
            for r in _read_json_any(P / "distill/gsm8k/train.jsonl.gz")
        ]
        # BFCL live_* rows: real user queries with their function schemas as tools
        self.bfcl: list[tuple[list[dict], list[dict]]] = []
        for p in sorted((P / "distill/bfcl").glob("BFCL_v4_live_*")):
            for r in _read_json_any(p):
                q = r.get("question") or []
                turns = q[0] if q and isinstance(q[0], list) else q
                msgs = [{"role": m["role"], "content": m["content"]} for m in turns
                        if isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
                        and isinstance(m.get("content"), str)]
                tools = []
                for fn in r.get("function") or []:
                    tools.append({"name": fn.get("name", "fn"),
                                  "description": fn.get("description", ""),
                                  "parameters": _fix_schema(fn.get("parameters") or {})})
                if msgs and msgs[-1]["role"] == "user" and tools:
                    self.bfcl.append((msgs, tools))
        # --- real browser user agents from a real web server log ---
        uas: dict[str, int] = {}
        with _open_text(data / "logs/elastic_apache/apache_logs.gz") as f:
            for line in f:
                parts = line.split('"')
                if len(parts) >= 6:
                    ua = parts[5]
                    low = ua.lower()
                    if ua.startswith("Mozilla/5.0 (") and not any(
                            b in low for b in ("bot", "spider", "crawl", "slurp", "compatible",
                                               "feed", "python", "java")):
                        uas[ua] = uas.get(ua, 0) + 1
        self.browser_uas = [u for u, c in sorted(uas.items(), key=lambda kv: (-kv[1], kv[0])) if c >= 3][:60]


@lru_cache(maxsize=4)
def load_corpora(data: Path) -> Corpora:
    return Corpora(data)


# --------------------------------------------------------------------------
# IP intelligence
# --------------------------------------------------------------------------

# National eyeball ISPs (ASN -> ISO country). Ranges are re-checked against
# DB-IP country data so only ranges really located in that country are kept.
RESIDENTIAL_ASNS = {
    7922: "US", 20115: "US", 7018: "US",
    3320: "DE", 3209: "DE",
    3215: "FR", 12322: "FR",
    2856: "GB", 5089: "GB",
    2516: "JP", 4713: "JP",
    28573: "BR",
    24560: "IN", 55836: "IN",
    812: "CA", 577: "CA",
    1221: "AU", 7474: "AU",
    3352: "ES", 3269: "IT", 1136: "NL", 4766: "KR", 8151: "MX",
    3303: "CH", 3301: "SE", 3462: "TW", 9121: "TR",
}
UNIVERSITY_ASN = 17  # a US university network (used for the campus NAT)


def _v4int(s: str) -> int:
    return struct.unpack("!I", socket.inet_aton(s))[0]


def _v4str(n: int) -> str:
    return socket.inet_ntoa(struct.pack("!I", n))


def _rand_below(rng: np.random.Generator, n: int) -> int:
    if n <= 1:
        return 0
    if n < (1 << 62):
        return int(rng.integers(0, n))
    return int.from_bytes(rng.bytes(16), "big") % n


class IPIntel:
    def __init__(self, data: Path):
        ip = data / "ip"
        # DB-IP country (IPv4) for verification
        starts, ends, ccs = [], [], []
        with _open_text(ip / "ip-location-db/dbip-country/dbip-country-ipv4.csv.gz") as f:
            for row in csv.reader(f):
                starts.append(_v4int(row[0]))
                ends.append(_v4int(row[1]))
                ccs.append(row[2])
        self._cc_starts, self._cc_ends, self._ccs = starts, ends, ccs

        self.res_v4: dict[str, list[tuple[int, int]]] = {}
        self.univ_v4: list[tuple[int, int]] = []
        with _open_text(ip / "ip-location-db/asn/asn-ipv4.csv.gz") as f:
            for row in csv.reader(f):
                try:
                    asn = int(row[2])
                except ValueError:
                    continue
                if asn in RESIDENTIAL_ASNS:
                    a, b = _v4int(row[0]), _v4int(row[1])
                    if b - a < 250:
                        continue
                    cc = RESIDENTIAL_ASNS[asn]
                    if self.country_v4(a) == cc and self.country_v4(b) == cc:
                        self.res_v4.setdefault(cc, []).append((a, b))
                elif asn == UNIVERSITY_ASN:
                    a, b = _v4int(row[0]), _v4int(row[1])
                    if b - a >= 250 and self.country_v4(a) == "US":
                        self.univ_v4.append((a, b))
        self.res_v6: dict[str, list[tuple[int, int]]] = {}
        with _open_text(ip / "ip-location-db/asn/asn-ipv6.csv.gz") as f:
            for row in csv.reader(f):
                try:
                    asn = int(row[2])
                except ValueError:
                    continue
                if asn in RESIDENTIAL_ASNS:
                    a = int(ipaddress.IPv6Address(row[0]))
                    b = int(ipaddress.IPv6Address(row[1]))
                    if b - a >= (1 << 64):
                        self.res_v6.setdefault(RESIDENTIAL_ASNS[asn], []).append((a, b))
        self.res_countries = sorted(c for c in self.res_v4 if len(self.res_v4[c]) >= 3)

        def lines(p: Path):
            with _open_text(p) as fh:
                return [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]

        self.cloud_v4 = {prov: lines(ip / "ipranges_cc0" / prov / "ipv4_merged.txt")
                         for prov in ("amazon", "google", "microsoft", "digitalocean", "linode", "oracle")}
        self.cloud_v6 = {prov: lines(ip / "ipranges_cc0" / prov / "ipv6_merged.txt")
                         for prov in ("amazon", "google", "microsoft")}
        self.vpn_v4 = lines(ip / "x4bnet_lists_vpn/output_vpn_ipv4.txt")
        self.vpn_v6 = lines(ip / "x4bnet_lists_vpn/output_vpn_ipv6.txt")
        self.dc_v4 = lines(ip / "x4bnet_lists_vpn/output_datacenter_ipv4.txt.gz")
        self.tor = [t for t in lines(ip / "tor/tor-exit-nodes.lst") if _is_ip(t)]

    def country_v4(self, n: int) -> str | None:
        i = bisect_right(self._cc_starts, n) - 1
        if i >= 0 and self._cc_starts[i] <= n <= self._cc_ends[i]:
            return self._ccs[i]
        return None

    # ---- samplers -------------------------------------------------------
    @staticmethod
    def _from_range_v4(rng, a: int, b: int) -> str:
        while True:
            n = a + _rand_below(rng, b - a + 1)
            if (n & 0xFF) not in (0, 255):
                return _v4str(n)

    def residential(self, rng, country: str, v6: bool = False) -> str:
        if country not in self.res_v4:
            country = "US"
        if v6 and self.res_v6.get(country):
            rs = self.res_v6[country]
            a, b = rs[_rand_below(rng, len(rs))]
            # a /64 inside the range, then a random interface id
            prefix = (a >> 64) + _rand_below(rng, ((b - a) >> 64) + 1)
            host = _rand_below(rng, 1 << 64) | 1
            return str(ipaddress.IPv6Address((prefix << 64) | host))
        rs = self.res_v4[country]
        a, b = rs[_rand_below(rng, len(rs))]
        return self._from_range_v4(rng, a, b)

    def university(self, rng) -> str:
        a, b = self.univ_v4[_rand_below(rng, len(self.univ_v4))]
        return self._from_range_v4(rng, a, b)

    @staticmethod
    def _from_cidrs(rng, cidrs: list[str]) -> str:
        while True:
            net = ipaddress.ip_network(cidrs[_rand_below(rng, len(cidrs))], strict=False)
            n = net.num_addresses
            if n <= 2:
                addr = net.network_address
            else:
                addr = net[1 + _rand_below(rng, n - 2)]
            if addr.version == 4 and int(addr) & 0xFF in (0, 255):
                continue
            return str(addr)

    def cloud(self, rng, provider: str, v6: bool = False) -> str:
        return self._from_cidrs(rng, (self.cloud_v6 if v6 else self.cloud_v4)[provider])

    def vpn(self, rng, v6: bool = False) -> str:
        return self._from_cidrs(rng, self.vpn_v6 if v6 else self.vpn_v4)

    def datacenter(self, rng) -> str:
        return self._from_cidrs(rng, self.dc_v4)

    def tor_exit(self, rng) -> str:
        return self.tor[_rand_below(rng, len(self.tor))]


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False


@lru_cache(maxsize=4)
def load_ipintel(data: Path) -> IPIntel:
    return IPIntel(data)
