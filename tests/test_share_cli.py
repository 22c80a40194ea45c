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
from helpers import json_strings, luhn

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


def test_no_prompt_text_email_or_card_in_any_exported_byte(world):
    bundle = (world / "bundle.json").read_text()
    findings = (world / "findings.jsonl").read_text()
    docs = [json.loads(bundle)] + [json.loads(x) for x in findings.splitlines()]
    strings = [s for d in docs for s in json_strings(d)]
    assert not [s for s in strings if EMAIL.search(s)]
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    cards = [m for s in strings for m in CARD.findall(uuid.sub("", s)) if luhn(re.sub(r"\D", "", m))]
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
        cards = {json.loads(x).get("payment_fingerprint") for x in (world / "data" / "accounts.jsonl").read_text().splitlines()}
        assert not [c for c in cards if c and c in text], "payment fingerprints must not appear in the dossier"
    r = runner.invoke(app, ["report", "--results", world / "res", "--format", "docx"])
    assert r.exit_code == 2


# -- faults found by a user trial of the evidence commands --------------------------------------------
def test_out_that_is_a_directory_gets_the_default_file_name(world, tmp_path):
    d = tmp_path / "outdir"
    d.mkdir()
    ok(["export", "stix", "--results", world / "res", "--out", d])
    ok(["export", "ocsf", "--results", world / "res", "--out", d])
    ok(["import", "stix", world / "bundle.json", "--out", d])
    ok(["report", "--results", world / "res", "--format", "MD", "--out", d])
    assert {p.name for p in d.iterdir()} == {"bundle.json", "findings.ocsf.jsonl", "indicators.jsonl", "dossier.md"}


def test_bad_partner_indicators_are_skipped_and_counted(world, tmp_path):
    bundle = json.loads((world / "bundle.json").read_text())
    ind = next(o for o in bundle["objects"] if o["type"] == "indicator")
    ind["pattern"] = "[autonomous-system:number = 99999999999999999999]"
    (tmp_path / "big.json").write_text(json.dumps(bundle))
    r = ok(["import", "stix", tmp_path / "big.json", "--out", tmp_path / "big.jsonl"])
    assert "1 skipped" in " ".join(r.output.split())
    lines = [json.dumps({"type": "ipv4", "value": "notanip", "indicator_id": "i1"}),
             json.dumps({"type": "cidr", "value": "1.2.3.0/99", "indicator_id": "i2"}),
             json.dumps({"type": "asn", "value": 2 ** 40, "indicator_id": "i3"}),
             json.dumps({"type": "martian", "value": 1, "indicator_id": "i4"}),
             json.dumps({"type": "ipv4", "value": "203.0.113.9", "indicator_id": "i5"})]
    (tmp_path / "g.jsonl").write_text("\n".join(lines) + "\n")
    data = world / "data"
    r = ok(["scan", data / "requests.jsonl", "--out", tmp_path / "s", "--indicators", tmp_path / "g.jsonl"])
    s = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert (s["indicators"]["valid"], s["indicators"]["invalid"]) == (1, 4)
    assert "4 invalid" in " ".join(r.output.split())


def test_exports_refuse_incomplete_results(world, tmp_path):
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(world / "res", partial)
    (partial / "campaign_edges.parquet").unlink()
    r = runner.invoke(app, ["export", "stix", "--results", str(partial), "--out", str(tmp_path / "b.json")])
    assert r.exit_code == 2 and "campaign_edges.parquet" in " ".join(r.output.split())
    (partial / "campaigns.json").unlink()
    r = runner.invoke(app, ["export", "ocsf", "--results", str(partial), "--out", str(tmp_path / "f.jsonl")])
    assert r.exit_code == 2 and "campaigns.json" in " ".join(r.output.split())
    r = runner.invoke(app, ["report", "--results", str(world / "res" / "summary.json")])
    assert r.exit_code == 2 and "it is a file" in " ".join(r.output.split())


@pytest.mark.parametrize("manifest", ["{}", "[]", '{"outputs": 5}', '{"outputs": {"accounts.csv": {}}}',
                                      '{"outputs": {"accounts.csv": null}}'])
def test_verify_rejects_an_empty_or_malformed_manifest(world, tmp_path, manifest):
    import shutil

    d = tmp_path / "v"
    shutil.copytree(world / "res", d)
    (d / "manifest.json").write_text(manifest)
    r = runner.invoke(app, ["verify", str(d)])
    assert r.exit_code == 2 and "malformed manifest" in " ".join(r.output.split())
    assert "Traceback" not in r.output
