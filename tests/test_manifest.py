"""Chain of custody: manifest.json records inputs, configuration and outputs; verify catches any change."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.pipeline import scan
from distillwatch.report.manifest import verify

runner = CliRunner()


def _log(path, n=40):
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"request_id": f"r{i}", "timestamp": f"2026-04-22T{i % 24:02d}:00:00Z",
                                 "account_id": f"acct_{i % 4}", "model": "m1", "client_ip": "203.0.113.7",
                                 "messages": [{"role": "user", "content": f"Explain step by step how to solve {i}"}],
                                 "max_tokens": 8000}) + "\n")
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    req = _log(d / "requests.jsonl")
    scan(req, out=d / "out")
    return d


def test_manifest_records_inputs_config_and_every_output(results):
    m = json.loads((results / "out" / "manifest.json").read_text())
    expected = hashlib.sha256((results / "requests.jsonl").read_bytes()).hexdigest()
    assert m["inputs"]["requests"]["sha256"] == expected
    outputs = {p.name for p in (results / "out").iterdir() if p.name != "manifest.json"}
    assert set(m["outputs"]) == outputs
    for name, rec in m["outputs"].items():
        assert rec["sha256"] == hashlib.sha256((results / "out" / name).read_bytes()).hexdigest()
    assert m["config"]["score_params"]["ban_risk"] == 0.8 and m["config"]["engine"] == "duckdb"
    assert m["library_versions"]["duckdb"]
    assert m["counts"]["rows_read"] == 40


def test_verify_passes_on_untouched_results(results):
    problems, notes = verify(results / "out")
    assert problems == [] and notes == []


def test_verify_detects_a_one_byte_change_in_any_output(tmp_path):
    req = _log(tmp_path / "requests.jsonl")
    out = tmp_path / "out"
    scan(req, out=out)
    names = sorted(p.name for p in out.iterdir() if p.name != "manifest.json")
    assert len(names) >= 10
    for name in names:
        f = out / name
        original = f.read_bytes()
        changed = bytearray(original)
        if changed:
            changed[len(changed) // 2] ^= 0x01  # flip one bit of one byte
        else:
            changed = bytearray(b"x")  # an empty file gains one byte
        f.write_bytes(bytes(changed))
        problems, _ = verify(out)
        assert problems == [f"output {name}: SHA-256 differs from the manifest"], name
        r = runner.invoke(app, ["verify", str(out)])
        assert r.exit_code == 1 and "MISMATCH" in r.output
        f.write_bytes(original)
    assert verify(out) == ([], [])


def test_verify_detects_a_changed_input_and_a_missing_output(tmp_path):
    req = _log(tmp_path / "requests.jsonl")
    out = tmp_path / "out"
    scan(req, out=out)
    with open(req, "a") as fh:
        fh.write("\n")
    (out / "report.md").unlink()
    problems, _ = verify(out)
    assert "output report.md: missing" in problems
    assert any(p.startswith("input requests") and "differs" in p for p in problems)
    assert verify(out, check_inputs=False)[0] == ["output report.md: missing"]


def test_verify_without_manifest_is_a_usage_error(tmp_path):
    r = runner.invoke(app, ["verify", str(tmp_path)])
    assert r.exit_code == 2 and "no manifest" in " ".join(r.output.split())
