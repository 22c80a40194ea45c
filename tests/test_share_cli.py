"""Sharing through the command line: export STIX and OCSF, import a partner bundle, match it in a scan,
and a privacy scan over every exported byte."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not (SHARED / "prompts").is_dir(), reason="needs ../shared/data")
runner = CliRunner()
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")


def ok(args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from distillwatch.simulate import simulate

    d = tmp_path_factory.mktemp("share")
    simulate(d / "data", seed=13, scale=0.08)
    (d / "key.bin").write_bytes(bytes(range(32)))
    data = d / "data"
    ok(["scan", data / "requests.jsonl", "--accounts", data / "accounts.jsonl", "--releases", data / "releases.jsonl",
        "--out", d / "res"])
    ok(["export", "stix", "--results", d / "res", "--out", d / "bundle.json", "--share-key-file", d / "key.bin"])
    ok(["export", "ocsf", "--results", d / "res", "--out", d / "findings.jsonl"])
    ok(["import", "stix", d / "bundle.json", "--out", d / "ind.jsonl"])
    ok(["scan", data / "requests.jsonl", "--accounts", data / "accounts.jsonl", "--releases", data / "releases.jsonl",
        "--out", d / "res2", "--indicators", d / "ind.jsonl", "--share-key-file", d / "key.bin"])
    return d


def _accounts(path):
    with open(path, newline="") as fh:
        return {r["account_id"]: r for r in csv.DictReader(fh)}


def test_bundle_parses_and_imports(world):
    import stix2

    bundle = stix2.parse((world / "bundle.json").read_text(), allow_custom=True)
    types = {o.type for o in bundle.objects}
    assert {"campaign", "indicator", "identity", "infrastructure", "relationship", "marking-definition"} <= types
    n_ind = sum(1 for o in bundle.objects if o.type == "indicator")
    lines = (world / "ind.jsonl").read_text().splitlines()
    assert len(lines) == n_ind


def test_partner_template_matches_only_campaign_accounts(world):
    first = _accounts(world / "res" / "accounts.csv")
    second = _accounts(world / "res2" / "accounts.csv")
    truth = {r["account_id"]: r["label"] for r in csv.DictReader(open(world / "data" / "truth.csv"))}
    matched = {a for a, r in second.items() if "account.partner_template" in r["reasons"].split(";")}
    assert matched, "template fingerprints matched nobody"
    assert all(first[a]["campaign_id"] for a in matched)
    assert all(truth[a] == "attack" for a in matched)
    # indicators must not push a benign account into ban
    assert not [a for a, r in second.items() if truth.get(a) == "benign" and r["tier"] == "ban"]


def test_ocsf_findings_validate(world):
    from distillwatch.share.ocsf import validate_ocsf

    assert validate_ocsf(world / "findings.jsonl") == []
    first = _accounts(world / "res" / "accounts.csv")
    flagged = sum(1 for r in first.values() if r["tier"] != "clear")
    camps = json.loads((world / "res" / "campaigns.json").read_text())["campaigns"]
    assert len((world / "findings.jsonl").read_text().splitlines()) == flagged + len(camps)


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def test_no_prompt_text_email_or_card_in_any_exported_byte(world):
    bundle = (world / "bundle.json").read_text()
    findings = (world / "findings.jsonl").read_text()
    docs = [json.loads(bundle)] + [json.loads(x) for x in findings.splitlines()]
    strings = [s for d in docs for s in _strings(d)]
    assert not [s for s in strings if EMAIL.search(s)]
    cards = [m for s in strings for m in CARD.findall(s) if _luhn(re.sub(r"\D", "", m))]
    assert cards == []
    pieces = set()
    for line in (world / "data" / "requests.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        texts = [m.get("content") for m in r.get("messages") or [] if isinstance(m.get("content"), str)]
        texts += [r["prompt"]] if isinstance(r.get("prompt"), str) else []
        for text in texts:
            text = " ".join(text.split())
            for i in range(0, max(1, len(text) - 40), 97):
                if len(text[i:i + 40]) == 40:
                    pieces.add(text[i:i + 40])
    flat = " ".join((bundle + findings).split())
    assert [p for p in pieces if p in flat] == []
    # and the payment fingerprints of the accounts file never appear
    cards_in = {json.loads(x).get("payment_fingerprint") for x in (world / "data" / "accounts.jsonl").read_text().splitlines()}
    assert not [c for c in cards_in if c and c in flat]


def test_report_command_writes_the_dossier(world):
    camps = json.loads((world / "res" / "campaigns.json").read_text())["campaigns"]
    for fmt in ("html", "md"):
        r = ok(["report", "--results", world / "res", "--format", fmt, "--out", world / f"dossier.{fmt}"])
        assert f"dossier.{fmt}" in " ".join(r.output.split())
        text = (world / f"dossier.{fmt}").read_text()
        for c in camps:
            assert c["campaign_id"] in text
            assert f"{c['n_requests']:,}" in text
    r = runner.invoke(app, ["report", "--results", world / "res", "--format", "docx"])
    assert r.exit_code == 2
