"""End-to-end: simulate (held-out seed) -> scan -> evaluate, the independent generator, a corrupted
log, and the demo on a machine without ../shared.

Seeds: thresholds were set on simulator seeds 1-2 and external-generator seeds 1, 11, 12 only.
The seeds below were never used for tuning. Floors are the issue's acceptance floors (0.8 on the
independent generator) or stricter where the project's own simulator is concerned.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from distillwatch.cli import app
from distillwatch.evaluate.metrics import evaluate
from distillwatch.pipeline import scan

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "prompts").is_dir() or not (SHARED / "ip").is_dir(),
                                  reason="needs ../shared/data (prompts and ip)")

SIM_HARD_NEGATIVES = ("benign:enterprise", "benign:coding_agent", "benign:eval_harness", "benign:campus",
                      "benign:developer", "benign:casual")
EXT_HARD_NEGATIVES = ("benign:ci_bot", "benign:agent_product", "benign:eval_harness", "benign:university_nat",
                      "benign:relay", "benign:sdk_crowd", "benign:burst_once", "benign:ordinary")


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


@needs_shared
def test_simulate_scan_evaluate_on_a_held_out_seed(tmp_path):
    from distillwatch.simulate import simulate

    data, out = tmp_path / "data", tmp_path / "out"
    simulate(data, seed=9, scale=0.25)
    res = scan(data / "requests.jsonl", out=out, accounts=data / "accounts.jsonl", releases=data / "releases.jsonl")
    s = res.summary
    assert s["rows_read"] == _count_lines(data / "requests.jsonl")
    assert s["rows_read"] == s["rows_scored"] + s["rows_quarantined"]
    ev = evaluate(data / "truth.csv", out)
    assert ev["ban_review"]["precision"] >= 0.9
    assert ev["ban_review"]["recall"] >= 0.95
    assert ev["ban"]["precision"] >= 0.98
    assert ev["ari"] >= 0.8
    for name in SIM_HARD_NEGATIVES:
        assert ev["benign_flagged"].get(name, {"ban": 0})["ban"] == 0, name
    # every campaign account in accounts.csv carries its signal ids
    with open(out / "accounts.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    flagged = [r for r in rows if r["tier"] != "clear"]
    assert flagged and all(r["reasons"] for r in flagged)
    camps = json.loads((out / "campaigns.json").read_text())["campaigns"]
    assert camps and all(c["n_accounts"] == len(c["accounts"]) for c in camps)
    from distillwatch.schema import CAMPAIGN_KEYS

    assert all(set(CAMPAIGN_KEYS) <= set(c) for c in camps)
    with open(out / "accounts.csv", newline="") as fh:
        assert next(csv.reader(fh)) == ["account_id", "risk", "tier", "campaign_id", "requests", "reasons"]
    # the dossier's source table names each result file with its size and SHA-256 as they are on disk
    # (summary.json was once rewritten after the report was rendered)
    import hashlib
    import re

    listed = re.findall(r"^\| `([^`]+)` \| ([\d,]+) \| `([0-9a-f]{64})` \|$", (out / "report.md").read_text(), re.M)
    assert "summary.json" in {name for name, _, _ in listed}
    for name, size, sha in listed:
        body = (out / name).read_bytes()
        assert (int(size.replace(",", "")), sha) == (len(body), hashlib.sha256(body).hexdigest()), name


@needs_shared
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 404])
def test_a_coding_agent_company_is_not_flagged(tmp_path, seed):
    """Regressions (issue 3), full scale. Seed 1: the coding-agent product company's six accounts (one
    card, one client, Google Cloud egress) were linked and banned as a CoT-harvesting campaign, because the
    prompt classifier read the product's system prompt as an elicitation wrapper on about half of its
    requests (campaign content 0.759 against the 0.65 floor). Seed 404 (a new-user trial): the company's
    main account went to review at risk 0.656 on an "extraction sub-stream" of 27 requests that were 3
    agent runs on one "explain each step" task, every step re-sending it. These reproduce the cases
    found; they report no metric (seed 1 is a tuning seed)."""
    from distillwatch.simulate.scenarios import get_scenario

    data, out = tmp_path / "data", tmp_path / "out"
    get_scenario("hn_coding_agent").simulate(data, seed=seed, scale=1.0)
    scan(data / "requests.jsonl", out=out, accounts=data / "accounts.jsonl", releases=data / "releases.jsonl")
    with open(data / "truth.csv", newline="") as fh:
        truth = {r["account_id"]: r["campaign"] for r in csv.DictReader(fh)}
    company = {a for a, c in truth.items() if c == "benign:coding_agent"}
    assert len(company) == 6
    with open(out / "accounts.csv", newline="") as fh:
        tiers = {r["account_id"]: r["tier"] for r in csv.DictReader(fh)}
    assert {tiers[a] for a in company} == {"clear"}
    camps = json.loads((out / "campaigns.json").read_text())["campaigns"]
    assert not any(company & set(c["accounts"]) for c in camps)
    # the scenario's own campaign is still found whole
    hydra = {a for a, c in truth.items() if c.startswith("attack")}
    assert len(hydra) == 140 and {tiers[a] for a in hydra} == {"ban"}
    # a lone account held clear at a risk that reached review says why in explanations.jsonl (found by a
    # new-user trial: on seed 404 an eval-harness burst sat at 0.743, clear, with no reason in any file)
    with open(out / "accounts.csv", newline="") as fh:
        held = {r["account_id"] for r in csv.DictReader(fh) if r["tier"] == "clear" and float(r["risk"]) >= 0.6}
    explained = {e["account_id"]: e for e in map(json.loads, (out / "explanations.jsonl").read_text().splitlines())}
    assert held <= set(explained)
    assert all(any(x.startswith("not flagged on its own") for x in explained[a]["evidence"]) for a in held)
    if seed == 404:
        assert [truth[a] for a in held] == ["benign:eval_harness"]


@needs_shared
@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_independent_generator_meets_the_acceptance_floors(tmp_path, fmt):
    sys.path.insert(0, str(REPO / "tests" / "external"))
    try:
        from generate import generate
    finally:
        sys.path.pop(0)
    data, out = tmp_path / "data", tmp_path / "out"
    generate(data, seed=41, scale=0.5, fmt=fmt)
    req = data / f"requests.{fmt}"
    res = scan(req, out=out, accounts=data / "accounts.csv", releases=data / "releases.jsonl")
    assert res.summary["reconciles"]
    ev = evaluate(data / "truth.csv", out)
    assert ev["ban_review"]["precision"] >= 0.8
    assert ev["ban_review"]["recall"] >= 0.8
    for name in EXT_HARD_NEGATIVES:
        assert ev["benign_flagged"].get(name, {"ban": 0})["ban"] == 0, name


@needs_shared
def test_one_percent_malformed_lines_are_quarantined_and_reconciled(tmp_path):
    sys.path.insert(0, str(REPO / "tests" / "external"))
    try:
        from corrupt import corrupt
        from generate import generate
    finally:
        sys.path.pop(0)
    data = tmp_path / "data"
    generate(data, seed=43, scale=0.1)
    bad = tmp_path / "bad.jsonl"
    report = corrupt(data / "requests.jsonl", bad, rate=0.01, seed=5)
    assert len(report) >= 6
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["scan", str(bad), "--accounts", str(data / "accounts.csv"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    q = [json.loads(x) for x in (tmp_path / "o" / "quarantine.jsonl").read_text().splitlines()]
    q_req = [x for x in q if x["file"] == str(bad)]
    assert sorted(x["line"] for x in q_req) == sorted(x["line_no"] for x in report)
    assert s["rows_read"] == _count_lines(bad)
    assert s["rows_quarantined"] == len(report)
    assert s["rows_read"] == s["rows_scored"] + s["rows_quarantined"]
    expected_field = {"missing_account_id": "account_id", "bad_timestamp": "timestamp", "bad_ip": "client_ip"}
    by_line = {x["line"]: x for x in q_req}
    for rep in report:
        got = by_line[rep["line_no"]]
        assert got["reason"], rep
        if rep["kind"] in expected_field:
            assert got["field"] == expected_field[rep["kind"]], (rep, got)
        if rep["kind"] == "non_utf8":
            assert got["reason"] == "invalid UTF-8 bytes"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_demo_runs_without_shared_data(tmp_path):
    """The demo on a copy of the project with no ../shared beside it: BFCL from bfcl-eval, built-in IP table."""
    import importlib.util

    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip("bfcl-eval is not installed (make installs it)")
    proj = tmp_path / "proj"
    shutil.copytree(REPO / "src", proj / "src")
    shutil.copy(REPO / "pyproject.toml", proj / "pyproject.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLWATCH_")}
    env["PYTHONPATH"] = str(proj / "src")
    r = subprocess.run([sys.executable, "-m", "distillwatch.cli", "demo", "--out", str(tmp_path / "demo"),
                        "--scale", "0.1"], cwd=proj, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PyPI package bfcl-eval" in r.stderr
    assert "built-in table" in r.stderr
    assert "built-in table" not in r.stdout  # said once
    # a scan on the same machine says so too (found by a new-user trial: it was only in summary.json)
    r2 = subprocess.run([sys.executable, "-m", "distillwatch.cli", "scan", str(tmp_path / "demo" / "data" / "requests.jsonl"),
                         "--out", str(tmp_path / "scan2")], cwd=proj, env=env, capture_output=True, text=True, timeout=900)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "IP intelligence: built-in table of published ranges" in " ".join(r2.stdout.split())
    summary = json.loads((tmp_path / "demo" / "results" / "summary.json").read_text())
    assert summary["data_versions"]["intel_source"] == "none"
    assert (tmp_path / "demo" / "results" / "report.html").stat().st_size > 1000
    ev = json.loads((tmp_path / "demo" / "results" / "evaluation.json").read_text())
    assert ev["ban_review"]["recall"] >= 0.8
