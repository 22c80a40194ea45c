"""STIX 2.1 sharing: keyed template fingerprints, export, import and matching.

Unit tests build a results directory and a ``req_features`` table by hand; the end-to-end test
simulates a small log, scans it and checks the export -> import -> match round trip (needs
../shared/data).
"""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

stix2 = pytest.importorskip("stix2")

from distillwatch.engine import get_engine  # noqa: E402
from helpers import json_strings, luhn  # noqa: E402
from distillwatch.errors import InputError  # noqa: E402
from distillwatch.share.fingerprint import (  # noqa: E402
    key_id, load_share_key, normalise_skeleton, template_fingerprint)
from distillwatch.share.stix import (  # noqa: E402
    EXTENSION_ID, export_stix, import_stix, match_indicators, quote_pattern_string, read_indicators)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "prompts").is_dir() or not (SHARED / "ip").is_dir(),
                                  reason="needs ../shared/data (prompts and ip)")

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SKEL_A = "you are a grader … score the following response from 0 to 0 against this rubric … * factual accuracy"
SKEL_B = "you are a principal engineer … explain your approach step by step"
ODD_UA = "weird\\agent 'v1' \"x\""

try:
    from stix2patterns.validator import run_validator
except ImportError:  # pragma: no cover
    run_validator = None


# ------------------------------------------------------------------------------------------- fingerprints

def test_normalisation_matches_the_scanner_form():
    assert normalise_skeleton("  You are   a GRADER\u2026 score 10 of 250\tpoints ") \
        == "you are a grader\u2026 score 0 of 0 points"
    # NFC, not NFKC: the slot separator survives
    assert " … " in normalise_skeleton("a … b")
    assert normalise_skeleton(SKEL_A) == SKEL_A  # scanner skeletons are already normal


def test_fingerprint_is_stable_and_key_dependent():
    fp = template_fingerprint(SKEL_A, KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    assert fp == template_fingerprint(SKEL_A, KEY)
    assert fp == template_fingerprint(SKEL_A.upper().replace("0", "7"), KEY)  # same after normalisation
    assert fp != template_fingerprint(SKEL_A, OTHER_KEY)
    assert fp != template_fingerprint(SKEL_B, KEY)
    assert key_id(KEY) != key_id(OTHER_KEY) and len(key_id(KEY)) == 16
    assert template_fingerprint("hello … world", b"k" * 16) == template_fingerprint("HELLO   …  WORLD", b"k" * 16)
    # pinned value: changing the normalisation or the HMAC input silently breaks every partner's matches
    assert template_fingerprint("you are a grader … score the following response from 10 to 0", b"k" * 16) \
        == "8f4950e49803c3d756bf6b560d8be13ca3635f7bdd8ec02640121386c3b24693"
    with pytest.raises(ValueError):
        template_fingerprint(SKEL_A, b"short")


def test_load_share_key_forms(tmp_path):
    raw = bytes(range(100, 132))
    (tmp_path / "hex").write_text(raw.hex() + "\n")
    (tmp_path / "hexp").write_text("hex:" + raw.hex().upper())
    import base64

    (tmp_path / "b64").write_text(base64.b64encode(raw).decode() + "\n")
    (tmp_path / "b64u").write_text(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    (tmp_path / "bin").write_bytes(b"\x00\xff" + raw)
    for name in ("hex", "hexp", "b64", "b64u"):
        assert load_share_key(tmp_path / name) == raw, name
    assert load_share_key(tmp_path / "bin") == b"\x00\xff" + raw
    (tmp_path / "short").write_text("00ff" * 4)  # 8 bytes
    with pytest.raises(ValueError, match="short"):
        load_share_key(tmp_path / "short")
    (tmp_path / "pass").write_text("correct horse battery staple\n")
    with pytest.raises(InputError, match="pass"):
        load_share_key(tmp_path / "pass")
    with pytest.raises(InputError, match="missing"):
        load_share_key(tmp_path / "missing")


def test_pattern_string_escaping():
    assert quote_pattern_string("a'b\\c") == "'a\\'b\\\\c'"


# ------------------------------------------------------------------------------------------- export (hand-made results)

def _results_dir(tmp_path: Path) -> Path:
    rd = tmp_path / "res"
    rd.mkdir()
    camp = {"campaign_id": "C0001", "accounts": ["acct_secret_1", "acct_secret_2", "acct_secret_3"], "n_accounts": 3,
            "n_requests": 1200, "first_seen": "2026-04-22T00:00:00Z", "last_seen": "2026-05-05T00:00:00Z",
            "capabilities": {"rubric_grading": 0.6, "coding": 0.4}, "proxy_share": 0.9, "n_client_ips": 3,
            "n_asns": 2, "n_ip_countries": 2,
            "top_asns": [{"asn": 9009, "org": "M247", "requests": 900, "share": 0.75}],
            "evidence": ["campaign.shared_template: template t_0123456789ab (3 accounts)"], "score": 0.93}
    (rd / "campaigns.json").write_text(json.dumps({"campaigns": [camp]}))
    t0, t1 = datetime(2026, 4, 22, tzinfo=timezone.utc), datetime(2026, 5, 5, tzinfo=timezone.utc)
    rows = [  # kind, value, detail, n_requests, n_accounts
        ("ip", "198.51.100.7", None, 600, 3), ("ip", "2001:db8::5", None, 300, 2), ("ip", "192.0.2.1", None, 50, 1),
        ("cidr", "198.51.100.0/24", None, 600, 3), ("cidr", "2001:db8::/48", None, 300, 2),
        ("asn", "AS9009", "M247 Europe SRL", 900, 3), ("asn", "AS64500", "tiny", 10, 2),
        ("user_agent", ODD_UA, None, 1200, 3), ("proxy", "vpn", None, 900, 3), ("proxy", "cloud", "aws", 180, 2),
        ("template", "t_0123456789ab", SKEL_A, 800, 3), ("template", "t_ba9876543210", SKEL_B, 3, 2),
        ("template", "t_aaaaaaaaaaaa", "a rare one … only here", 40, 1)]
    tbl = pa.table({
        "campaign_id": ["C0001"] * len(rows), "kind": [r[0] for r in rows], "value": [r[1] for r in rows],
        "detail": [r[2] for r in rows], "n_requests": [r[3] for r in rows], "n_accounts": [r[4] for r in rows],
        "first_seen": pa.array([t0] * len(rows), pa.timestamp("us", "UTC")),
        "last_seen": pa.array([t1] * len(rows), pa.timestamp("us", "UTC"))})
    pq.write_table(tbl, rd / "campaign_artifacts.parquet")
    # linking evidence: every address, network and template above linked two members, and no
    # account outside the campaign holds them (exclusivity 1.0)
    linked = [("ip_day", f"{v}@2026-04-22") for k, v, *_ in rows if k == "ip"]
    linked += [("prefix_day", f"{v}@2026-04-22") for k, v, *_ in rows if k == "cidr"]
    linked += [("template", v) for k, v, *_ in rows if k == "template"]
    edges = [(kind, art, acct) for kind, art in linked for acct in ("acct_secret_1", "acct_secret_2")]
    pq.write_table(pa.table({"campaign_id": ["C0001"] * len(edges), "account_id": [e[2] for e in edges],
                             "kind": [e[0] for e in edges], "artifact": [e[1] for e in edges],
                             "holders": [2] * len(edges), "exclusivity": [1.0] * len(edges)}),
                   rd / "campaign_edges.parquet")
    return rd


def _by_type(bundle: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for o in bundle["objects"]:
        out.setdefault(o["type"], []).append(o)
    return out


def test_export_bundle_structure(tmp_path):
    rd = _results_dir(tmp_path)
    out = tmp_path / "bundle.json"
    s = export_stix(rd, out, share_key=KEY, tlp="green", producer="Example AI")
    text = out.read_text()
    parsed = stix2.parse(text, allow_custom=False)
    assert parsed.type == "bundle"
    objs = _by_type(json.loads(text))
    assert s["objects"] == {k: len(v) for k, v in sorted(objs.items())}
    assert {"identity", "campaign", "indicator", "infrastructure", "relationship", "marking-definition",
            "extension-definition"} <= set(objs)
    assert objs["marking-definition"][0]["id"] == stix2.TLP_GREEN.id
    for o in json.loads(text)["objects"]:
        if o["type"] != "marking-definition":
            assert o["object_marking_refs"] == [stix2.TLP_GREEN.id], o["id"]
    assert any(i["name"] == "Example AI" and i["identity_class"] == "organization" for i in objs["identity"])
    assert objs["extension-definition"][0]["id"] == EXTENSION_ID
    # kinds: 2 ips (the 1-account one is out), 2 cidrs, 1 asn (the 1 % one is out), 1 UA, 1 template (3-request one out)
    assert s["indicators"] == {"asn": 1, "cidr": 2, "ipv4": 1, "ipv6": 1, "template_hmac": 1, "user_agent": 1}
    pats = sorted(i["pattern"] for i in objs["indicator"])
    fp = template_fingerprint(SKEL_A, KEY)
    assert "[ipv4-addr:value = '198.51.100.7']" in pats
    assert "[ipv6-addr:value = '2001:db8::5']" in pats
    assert "[ipv4-addr:value ISSUBSET '198.51.100.0/24']" in pats
    assert "[ipv6-addr:value ISSUBSET '2001:db8::/48']" in pats
    assert "[autonomous-system:number = 9009]" in pats
    assert ("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
            "'weird\\\\agent \\'v1\\' \"x\"']") in pats
    assert (f"[x-distillwatch-prompt-template:hmac_sha256 = '{fp}' AND "
            f"x-distillwatch-prompt-template:key_id = '{key_id(KEY)}']") in pats
    for i in objs["indicator"]:
        assert i["pattern_type"] == "stix"
        assert i["indicator_types"] in (["malicious-activity"], ["anomalous-activity"])
        if run_validator is not None:
            assert run_validator(i["pattern"], stix_version="2.1") == [], i["pattern"]
    # every indicator indicates the campaign; the campaign uses each infrastructure
    camp = objs["campaign"][0]
    rels = objs["relationship"]
    assert {r["source_ref"] for r in rels if r["relationship_type"] == "indicates" and r["target_ref"] == camp["id"]} \
        == {i["id"] for i in objs["indicator"]}
    assert {r["target_ref"] for r in rels if r["relationship_type"] == "uses" and r["source_ref"] == camp["id"]} \
        == {i["id"] for i in objs["infrastructure"]}
    assert sorted(i["name"] for i in objs["infrastructure"]) == ["C0001 VPN exits", "C0001 cloud-hosted exits (aws)"]
    assert all(i["infrastructure_types"] == ["anonymization"] for i in objs["infrastructure"])
    assert camp["name"] == "C0001" and "1,200 requests" in camp["description"] and "3 accounts" in camp["description"]
    assert "rubric grading" in camp["objective"]
    assert camp["first_seen"].startswith("2026-04-22") and camp["last_seen"].startswith("2026-05-05")
    # nothing that identifies accounts or reveals text
    for secret in ("acct_secret", "t_0123456789ab", "you are a grader", "a rare one", "principal engineer"):
        assert secret not in text


def test_export_without_key_omits_templates_and_caps_kinds(tmp_path):
    rd = _results_dir(tmp_path)
    s = export_stix(rd, tmp_path / "b.json", tlp="TLP:RED", max_indicators_per_kind=1)
    assert "template_hmac" not in s["indicators"]
    assert "extension-definition" not in s["objects"]
    assert any("no share key" in n for n in s["notes"])
    assert s["limited"] == {"C0001": {"cidr": [1, 2]}}
    assert s["tlp"] == "TLP:RED"
    camp = _by_type(json.loads((tmp_path / "b.json").read_text()))["campaign"][0]
    assert "cidr limited to the top 1 of 2" in camp["description"]
    (rd / "campaign_edges.parquet").unlink()
    with pytest.raises(InputError, match="campaign_edges.parquet"):
        export_stix(rd, tmp_path / "e.json")
    with pytest.raises(ValueError, match="TLP"):
        export_stix(rd, tmp_path / "c.json", tlp="purple")
    with pytest.raises(InputError, match="campaigns.json"):
        export_stix(tmp_path, tmp_path / "d.json")


def test_export_keeps_only_artifacts_that_linked_the_campaign(tmp_path):
    # campaign_edges holds the artifacts held mostly by members; the rest (the IPv6 address and
    # network, held by ordinary users too) is not shared
    rd = _results_dir(tmp_path)
    pq.write_table(pa.table({"campaign_id": ["C0001"] * 6, "account_id": ["acct_secret_1", "acct_secret_2"] * 3,
                             "kind": ["ip_day", "ip_day", "prefix_day", "prefix_day", "template", "template"],
                             "artifact": ["198.51.100.7@2026-04-22"] * 2 + ["198.51.100.0/24@2026-04-23"] * 2
                             + ["t_0123456789ab"] * 2}), rd / "campaign_edges.parquet")
    s = export_stix(rd, tmp_path / "b.json", share_key=KEY)
    assert s["indicators"] == {"asn": 1, "cidr": 1, "ipv4": 1, "template_hmac": 1, "user_agent": 1}
    assert not any("campaign_edges" in n for n in s["notes"])


# ------------------------------------------------------------------------------------------- import

def test_import_round_trip_and_unknown_shapes(tmp_path):
    rd = _results_dir(tmp_path)
    export_stix(rd, tmp_path / "b.json", share_key=KEY, producer="Example AI")
    bundle = json.loads((tmp_path / "b.json").read_text())
    ident = next(o for o in bundle["objects"] if o["type"] == "identity" and o["name"] == "Example AI")
    common = {"type": "indicator", "spec_version": "2.1", "created": "2026-05-06T00:00:00.000Z",
              "modified": "2026-05-06T00:00:00.000Z", "valid_from": "2026-05-06T00:00:00Z",
              "created_by_ref": ident["id"]}
    extra = [
        {**common, "id": "indicator--00000000-0000-4000-8000-000000000001", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '203.0.113.9'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.10']"},
        {**common, "id": "indicator--00000000-0000-4000-8000-000000000002", "pattern_type": "stix",
         "pattern": "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"},
        {**common, "id": "indicator--00000000-0000-4000-8000-000000000003", "pattern_type": "yara",
         "pattern": "rule x { condition: true }"},
        {**common, "id": "indicator--00000000-0000-4000-8000-000000000004", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '203.0.113.20' OR ipv4-addr:value IN ('203.0.113.21', '203.0.113.22')]"},
        {**common, "id": "indicator--00000000-0000-4000-8000-000000000005",
         "pattern_type": "distillwatch-template-hmac", "pattern": "AB" * 32},
        {**common, "id": "indicator--00000000-0000-4000-8000-000000000006", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '203.0.113.30' AND ipv4-addr:value = '203.0.113.31']"},
    ]
    bundle["objects"] += extra
    (tmp_path / "p.json").write_text(json.dumps(bundle))
    s = import_stix(tmp_path / "p.json", tmp_path / "ind.jsonl")
    assert s["indicators"] == 7 + len(extra)
    assert s["skipped"] == 4 and s["skipped_reasons"] == {"pattern_type yara": 1, "unsupported pattern": 3}
    recs = read_indicators(tmp_path / "ind.jsonl")
    vals = {(r["type"], r["value"]) for r in recs}
    assert {("ipv4", "198.51.100.7"), ("ipv6", "2001:db8::5"), ("cidr", "198.51.100.0/24"), ("cidr", "2001:db8::/48"),
            ("asn", 9009), ("user_agent", ODD_UA), ("template_hmac", template_fingerprint(SKEL_A, KEY)),
            ("ipv4", "203.0.113.20"), ("ipv4", "203.0.113.21"), ("ipv4", "203.0.113.22"),
            ("template_hmac", "ab" * 32)} == vals
    assert all(r["source"] == "Example AI" for r in recs)
    tpl = next(r for r in recs if r["value"] == template_fingerprint(SKEL_A, KEY))
    assert tpl["key_id"] == key_id(KEY) and tpl["campaigns"] == ["C0001"]


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"type": "bundle", "id": "nope", "objects": 3}'])
def test_import_bad_file_names_it(tmp_path, content):
    p = tmp_path / "bad_bundle.json"
    p.write_text(content)
    with pytest.raises(InputError, match="bad_bundle.json"):
        import_stix(p, tmp_path / "o.jsonl")
    with pytest.raises(InputError, match="absent.json"):
        import_stix(tmp_path / "absent.json", tmp_path / "o.jsonl")


# ------------------------------------------------------------------------------------------- match (hand-made features)

def _engine_with_features(rows: list[tuple]):
    eng = get_engine("duckdb")
    cols = ("account_id", "request_id", "client_ip", "asn", "user_agent", "skeleton", "template_id")
    eng.register("req_features", pa.table({c: pa.array([r[i] for r in rows], pa.int64() if c == "asn" else pa.string())
                                           for i, c in enumerate(cols)}))
    return eng


def _write_indicators(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def test_match_indicators_kinds(tmp_path):
    eng = _engine_with_features([
        ("a1", "r1", "198.51.100.200", 1, "ua-x", SKEL_A, "t1"),       # cidr + template
        ("a1", "r2", "10.0.0.1", 1, "ua-x", "a variant of the grader", "t1"),  # same template_id, other skeleton
        ("a2", "r3", "2001:db8:0:0:0:0:0:5", 2, "ua-y", None, None),   # ipv6 exact (other spelling) + cidr v6
        ("a3", "r4", "192.0.2.1", 9009, ODD_UA, SKEL_B, "t2"),          # asn + UA; SKEL_B is not shared
        ("a4", "r5", "203.0.113.1", 5, "ua-z", SKEL_A, "t1"),           # template only, but key id differs below
        ("a5", "r6", None, None, None, None, None),                     # nothing
    ])
    fp = template_fingerprint(SKEL_A, KEY)
    path = _write_indicators(tmp_path / "i.jsonl", [
        {"type": "cidr", "value": "198.51.100.0/24", "indicator_id": "i-cidr4"},
        {"type": "cidr", "value": "2001:db8::/48", "indicator_id": "i-cidr6"},
        {"type": "ipv6", "value": "2001:db8::5", "indicator_id": "i-ip6"},
        {"type": "asn", "value": 9009, "indicator_id": "i-asn"},
        {"type": "user_agent", "value": ODD_UA, "indicator_id": "i-ua"},
        {"type": "template_hmac", "value": fp, "indicator_id": "i-tpl", "key_id": key_id(KEY)},
        {"type": "template_hmac", "value": fp, "indicator_id": "i-tpl-other", "key_id": key_id(OTHER_KEY)},
        {"type": "mystery", "value": "x", "indicator_id": "i-unknown"},
    ])
    try:
        m = {r["account_id"]: r for r in match_indicators(path, eng, KEY).to_pylist()}
        assert set(m) == {"a1", "a2", "a3", "a4"}
        assert m["a1"]["kinds"] == ["cidr", "template_hmac"] and m["a1"]["indicator_ids"] == ["i-cidr4", "i-tpl"]
        assert m["a1"]["n_matches"] == 2 and m["a1"]["n_requests"] == 1  # r2: other skeleton, other /24
        assert m["a2"]["kinds"] == ["cidr", "ipv6"] and m["a2"]["n_matches"] == 2
        assert m["a3"]["kinds"] == ["asn", "user_agent"]
        assert m["a4"]["kinds"] == ["template_hmac"]
        expanded = {r["account_id"]: r for r in match_indicators(path, eng, KEY, expand_templates=True).to_pylist()}
        assert expanded["a1"]["n_requests"] == 2  # the variant skeleton matches through its template_id
        no_key = {r["account_id"] for r in match_indicators(path, eng).to_pylist()}
        assert no_key == {"a1", "a2", "a3"}
        assert match_indicators(path, eng, OTHER_KEY).num_rows == 3  # a4 needs the right key
        empty = match_indicators(_write_indicators(tmp_path / "e.jsonl", []), eng, KEY)
        assert empty.num_rows == 0 and empty.schema.names == ["account_id", "n_matches", "kinds", "indicator_ids",
                                                                "n_requests"]
        (tmp_path / "bad.jsonl").write_text('{"type": "ipv4"}\n')
        with pytest.raises(InputError, match="bad.jsonl: line 1"):
            match_indicators(tmp_path / "bad.jsonl", eng, KEY)
    finally:
        eng.close()


# ------------------------------------------------------------------------------------------- end to end

def _features_engine(requests: Path):
    from distillwatch.features.request_features import add_ip_intel, build_request_features
    from distillwatch.ingest.requests import read_requests
    from distillwatch.intel import load_intel

    eng = get_engine("duckdb")
    read_requests(eng, requests)
    add_ip_intel(eng, load_intel(SHARED / "ip"))
    build_request_features(eng)
    return eng


@needs_shared
def test_simulated_scan_export_import_match(tmp_path):
    from distillwatch.pipeline import scan
    from distillwatch.simulate import simulate

    data, res = tmp_path / "data", tmp_path / "res"
    simulate(data, seed=5, scale=0.05)
    result = scan(data / "requests.jsonl", out=res, accounts=data / "accounts.jsonl",
                  releases=data / "releases.jsonl", intel_dir=SHARED / "ip", write_report=False)
    assert result.campaigns, "the simulated log should hold campaigns"
    (tmp_path / "key.hex").write_text(KEY.hex() + "\n")
    key = load_share_key(tmp_path / "key.hex")
    summary = export_stix(res, tmp_path / "bundle.json", share_key=key)
    raw = (tmp_path / "bundle.json").read_bytes()
    bundle = json.loads(raw)
    stix2.parse(raw.decode(), allow_custom=False)
    objs = _by_type(bundle)
    assert {"identity", "campaign", "indicator", "infrastructure", "relationship", "marking-definition"} <= set(objs)
    assert summary["indicators"].get("template_hmac", 0) > 0
    if run_validator is not None:
        for i in objs["indicator"]:
            assert run_validator(i["pattern"], stix_version="2.1") == [], i["pattern"]

    # campaign descriptions carry the counts of campaigns.json
    camps = {c["campaign_id"]: c for c in json.loads((res / "campaigns.json").read_text())["campaigns"]}
    assert {c["name"] for c in objs["campaign"]} == set(camps)
    for c in objs["campaign"]:
        m = re.search(r"([\d,]+) accounts sent ([\d,]+) requests between (\S+) and (\S+),", c["description"])
        assert m, c["description"]
        want = camps[c["name"]]
        assert int(m[1].replace(",", "")) == want["n_accounts"] and int(m[2].replace(",", "")) == want["n_requests"]
        assert (m[3], m[4]) == (want["first_seen"][:10], want["last_seen"][:10])

    # privacy: no 30-character run of any message, no account/org/key ids, emails, payment fingerprints, cards
    text = "\x00".join(json_strings(bundle))
    windows = {text[i:i + 30] for i in range(len(text) - 29)}
    accounts = [json.loads(line) for line in open(data / "accounts.jsonl", encoding="utf-8")]
    forbidden = {a["account_id"] for a in accounts} | {a["org_id"] for a in accounts if a.get("org_id")} \
        | {a["payment_fingerprint"] for a in accounts if a.get("payment_fingerprint")}
    with open(data / "requests.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            forbidden.add(r["account_id"])
            if r.get("api_key_id"):
                forbidden.add(r["api_key_id"])
            for msg in r.get("messages") or []:
                content = msg.get("content")
                if msg.get("role") not in ("user", "system") or not isinstance(content, str):
                    continue
                for i in range(len(content) - 29):
                    assert content[i:i + 30] not in windows, f"message text leaked: {content[i:i + 30]!r}"
    assert not [f for f in forbidden if f in text]
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", text)
    cards = [re.sub(r"\D", "", m) for m in re.findall(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])", text)]
    assert not [c for c in cards if luhn(c)]
    # template ids (unkeyed hashes of the text) stay home too
    tids = pq.read_table(res / "campaign_artifacts.parquet").to_pandas().query("kind == 'template'")["value"]
    assert not [t for t in tids if t in text]

    # import -> match: every campaign account matches; no benign account matches by template
    imp = import_stix(tmp_path / "bundle.json", tmp_path / "indicators.jsonl")
    assert imp["skipped"] == 0 and imp["written"] == summary["objects"]["indicator"]
    eng = _features_engine(data / "requests.jsonl")
    try:
        matches = {r["account_id"]: r for r in match_indicators(tmp_path / "indicators.jsonl", eng, key).to_pylist()}
    finally:
        eng.close()
    members = {a for c in camps.values() for a in c["accounts"]}
    assert members <= set(matches)
    with open(data / "truth.csv", newline="") as fh:
        benign = {r["account_id"] for r in csv.DictReader(fh) if r["label"] == "benign"}
    assert benign, "the simulated log should hold benign accounts"
    by_template = {a for a, r in matches.items() if "template_hmac" in r["kinds"]}
    assert not by_template & benign
    assert members <= by_template


def test_template_held_by_anyone_outside_the_campaign_is_never_shared(tmp_path):
    rd = _results_dir(tmp_path)
    fp = template_fingerprint(SKEL_A, KEY)
    export_stix(rd, tmp_path / "a.json", share_key=KEY)
    assert fp in (tmp_path / "a.json").read_text()  # control: shared while only members hold it
    t = pq.read_table(rd / "campaign_edges.parquet").to_pandas()
    t.loc[t["artifact"] == "t_0123456789ab", "exclusivity"] = 0.6  # 3 of 5 holders are members
    t.to_parquet(rd / "campaign_edges.parquet", index=False)
    export_stix(rd, tmp_path / "b.json", share_key=KEY)
    assert fp not in (tmp_path / "b.json").read_text()
