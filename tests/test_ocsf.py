"""OCSF Detection Finding export: one finding per flagged account and per campaign, valid against the
pinned OCSF 1.5.0 rules and py-ocsf-models, severities as documented in docs/siem.md, and no request
text, emails or card-like numbers in any exported byte.

Expected counts come from accounts.csv and campaigns.json read here, not from the exporter.
"""

from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path

import pytest

from distillwatch.share.ocsf import OCSF_VERSION, export_ocsf, validate_ocsf
from helpers import json_strings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "prompts").is_dir() or not (SHARED / "ip").is_dir(),
                                  reason="needs ../shared/data (prompts and ip)")

SHINGLE = 30
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# grouped card numbers (4-4-4-1..7 with one separator) or a bare run of 15-19 digits; millisecond
# timestamps are 13 digits, hashes are bounded by letters.
CARD = re.compile(r"(?<![0-9A-Za-z])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{15,19})(?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if not (SHARED / "prompts").is_dir() or not (SHARED / "ip").is_dir():
        pytest.skip("needs ../shared/data (prompts and ip)")
    from distillwatch.pipeline import scan
    from distillwatch.simulate import simulate

    tmp = tmp_path_factory.mktemp("ocsf")
    data, res = tmp / "data", tmp / "res"
    simulate(data, seed=23, scale=0.05)
    scan(data / "requests.jsonl", out=res, accounts=data / "accounts.jsonl", releases=data / "releases.jsonl")
    out = tmp / "findings.ocsf.jsonl"
    info = export_ocsf(res, out)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {"data": data, "res": res, "out": out, "info": info, "records": records}


def _flagged(res: Path) -> dict[str, dict]:
    with open(res / "accounts.csv", newline="") as fh:
        return {r["account_id"]: r for r in csv.DictReader(fh) if r["tier"] in ("ban", "review")}


def _campaigns(res: Path) -> dict[str, dict]:
    return {c["campaign_id"]: c for c in json.loads((res / "campaigns.json").read_text())["campaigns"]}


def _kind(rec: dict) -> str:
    return rec["unmapped"]["distillwatch"]["entity_type"]


@needs_shared
def test_one_finding_per_flagged_account_and_per_campaign(exported):
    res, recs = exported["res"], exported["records"]
    flagged, camps = _flagged(res), _campaigns(res)
    assert flagged and camps, "the simulated scan should flag accounts and find campaigns"
    assert len(recs) == len(flagged) + len(camps)
    assert exported["info"]["records"] == len(recs)
    acc_recs = [r for r in recs if _kind(r) == "account"]
    camp_recs = [r for r in recs if _kind(r) == "campaign"]
    assert sorted(r["resources"][0]["uid"] for r in acc_recs) == sorted(flagged)
    assert all(r["resources"][0]["type"] == "account" for r in acc_recs)
    assert sorted(r["unmapped"]["distillwatch"]["campaign_id"] for r in camp_recs) == sorted(camps)
    for r in camp_recs:
        c = camps[r["unmapped"]["distillwatch"]["campaign_id"]]
        assert sorted(x["uid"] for x in r["resources"]) == sorted(c["accounts"])
    uids = [r["finding_info"]["uid"] for r in recs]
    assert len(set(uids)) == len(uids)


@needs_shared
def test_every_record_validates(exported):
    assert exported["info"]["problems"] == []
    assert validate_ocsf(exported["out"]) == []


@needs_shared
def test_every_record_is_a_py_ocsf_models_detection_finding(exported):
    pytest.importorskip("py_ocsf_models")
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding

    for rec in exported["records"]:
        m = DetectionFinding.model_validate(rec)
        assert m.class_uid == 2004 and int(m.type_uid) == 200401
        assert m.metadata.version == OCSF_VERSION == "1.5.0"


@needs_shared
def test_class_category_and_type_are_consistent(exported):
    for r in exported["records"]:
        assert r["category_uid"] == 2
        assert r["class_uid"] == 2004
        assert r["activity_id"] == 1
        assert r["type_uid"] == r["class_uid"] * 100 + r["activity_id"] == 200401
        assert r["status_id"] == 1
        assert r["finding_info"]["analytic"]["type_id"] == 1
        assert isinstance(r["time"], int) and r["time"] > 10 ** 12
        assert 0 <= r["risk_score"] <= 100 and 0 <= r["confidence_score"] <= 100


@needs_shared
def test_severities_follow_the_documented_mapping(exported):
    flagged, camps = _flagged(exported["res"]), _campaigns(exported["res"])
    for r in exported["records"]:
        u = r["unmapped"]["distillwatch"]
        if _kind(r) == "account":
            row = flagged[u["account_id"]]
            expected = {"review": 3}.get(row["tier"]) or (5 if row["campaign_id"] else 4)
            assert r["severity_id"] == expected, (row, r["severity_id"])
            assert r["risk_score"] == round(float(row["risk"]) * 100)
        else:
            score = float(camps[u["campaign_id"]]["score"])
            expected = 5 if score >= 0.9 else 4 if score >= 0.7 else 3
            assert r["severity_id"] == expected
            assert r["risk_score"] == round(score * 100)


def _user_texts(requests: Path) -> list[str]:
    texts = []
    with open(requests, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row.get("prompt"), str):
                texts.append(row["prompt"])
            for m in row.get("messages") or []:
                if not isinstance(m, dict) or m.get("role") not in ("user", "system"):
                    continue
                c = m.get("content")
                if isinstance(c, str):
                    texts.append(c)
                elif isinstance(c, list):
                    texts.extend(p.get("text", "") for p in c if isinstance(p, dict))
    return texts





@needs_shared
def test_no_request_text_emails_cards_or_payment_fingerprints(exported):
    raw = exported["out"].read_bytes()
    text = raw.decode("utf-8")
    shingles = set()
    for t in _user_texts(exported["data"] / "requests.jsonl"):
        for i in range(len(t) - SHINGLE + 1):
            shingles.add(t[i:i + SHINGLE])
    assert shingles
    # the raw bytes (JSON-escaped) and every decoded string value
    haystacks = [text] + [s for r in exported["records"] for s in json_strings(r)]
    for h in haystacks:
        for i in range(len(h) - SHINGLE + 1):
            assert h[i:i + SHINGLE] not in shingles, h[max(0, i - 40):i + 70]
    for h in haystacks:
        assert not EMAIL.search(h), EMAIL.search(h).group()
        assert not CARD.search(h), CARD.search(h).group()
    assert b"pmfp_" not in raw
    with open(exported["data"] / "accounts.jsonl", encoding="utf-8") as fh:
        fps = [json.loads(x).get("payment_fingerprint") for x in fh if x.strip()]
    for fp in filter(None, fps):
        assert fp.encode() not in raw


@needs_shared
def test_uids_are_stable_across_exports(exported, tmp_path):
    again = tmp_path / "again.jsonl"
    export_ocsf(exported["res"], again)
    first = [r["finding_info"]["uid"] for r in exported["records"]]
    second = [json.loads(x)["finding_info"]["uid"] for x in again.read_text().splitlines()]
    assert first == second


@needs_shared
def test_validator_reports_broken_records(exported, tmp_path):
    rec = copy.deepcopy(exported["records"][0])
    rec["type_uid"] = 200402
    rec["severity_id"] = 7
    rec["finding_info"]["desc"] += " contact bob@example.com"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rec) + "\n{not json\n")
    problems = validate_ocsf(bad)
    joined = "\n".join(problems)
    assert "type_uid" in joined and "severity_id" in joined and "email" in joined
    assert any(p.startswith("line 2:") for p in problems)
