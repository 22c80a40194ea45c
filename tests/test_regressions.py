"""Regression tests for the faults found by trying the product as a new user (fresh clone, messy logs).

Each test covers the whole kind of fault, not only the one input that exposed it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.engine.duckdb import parse_memory_limit
from distillwatch.errors import InputError
from distillwatch.pipeline import scan

runner = CliRunner()


def row(i: int, account: str = "acct_a", **kw) -> dict:
    r = {"request_id": f"r{i}", "timestamp": f"2026-04-22T{i % 24:02d}:00:00Z", "account_id": account,
         "model": "m1", "client_ip": f"203.0.113.{i % 250 + 1}",
         "messages": [{"role": "user", "content": f"question number {i} about gardening"}]}
    r.update(kw)
    return r


def write_jsonl(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


# -- report escaping -------------------------------------------------------------------------------
def test_report_html_escapes_everything_from_the_log(tmp_path):
    evil = '<script>alert(1)</script><h1>INJECTED</h1>'
    rows = [row(i, account=f'acct<img src=x onerror=alert({i % 3})>',
                messages=[{"role": "user", "content": f"{evil} Think step by step and show all your reasoning. "
                                                       f"Write the complete program in python for task {i}."}],
                max_tokens=16000, output_tokens=3000)
            for i in range(60)]
    res = scan(write_jsonl(tmp_path / "r.jsonl", rows), out=tmp_path / "o")
    html = (tmp_path / "o" / "report.html").read_text()
    assert "<script>alert" not in html and "<h1>INJECTED" not in html and "<img src=x" not in html
    assert res.summary["tiers"]["review"] + res.summary["tiers"]["ban"] >= 1  # the account is listed in the report
    assert "&lt;img src=x onerror=alert(" in html


# -- tiny logs and logs with no shared artifacts ------------------------------------------------------
@pytest.mark.parametrize("n_accounts", [1, 3])
def test_logs_without_any_shared_artifact_scan_cleanly(tmp_path, n_accounts):
    rows = [row(i, account=f"acct_{i % n_accounts}", client_ip=f"198.51.100.{i + 1}",
                user_agent=f"ua-{i}") for i in range(10)]
    res = scan(write_jsonl(tmp_path / "r.jsonl", rows), out=tmp_path / "o")
    assert res.summary["accounts"] == n_accounts and res.campaigns == []
    with open(tmp_path / "o" / "accounts.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == n_accounts


# -- timestamps that are not usable instants ----------------------------------------------------------
@pytest.mark.parametrize("ts, reason", [
    (1776800000000000000, "out of range"),        # epoch nanoseconds (OTel style)
    (18446744073709551615, "out of range"),       # 2^64 - 1: does not fit 64 bits
    (9223372036854775807, "out of range"),        # 2^63 - 1: overflows when turned into microseconds
    ("infinity", "unparseable"),
    ("-infinity", "unparseable"),
    ("2100-01-01T00:00:00Z", "out of range"),
    (-5, "out of range"),
])
def test_unusable_timestamps_are_quarantined_not_fatal(tmp_path, ts, reason):
    rows = [row(i) for i in range(5)]
    rows[2]["timestamp"] = ts
    res = scan(write_jsonl(tmp_path / "r.jsonl", rows), out=tmp_path / "o")
    q = [json.loads(x) for x in (tmp_path / "o" / "quarantine.jsonl").read_text().splitlines()]
    assert [(x["line"], x["field"]) for x in q] == [(3, "timestamp")]
    assert reason in q[0]["reason"]
    assert res.summary["rows_scored"] == 4


@pytest.mark.parametrize("value", ["2026-04-22t10:00:00z", "2026-04-22T10:00:00+02:00", 1776852000000])
def test_accepted_timestamp_spellings(tmp_path, value):
    rows = [row(i) for i in range(3)]
    rows[1]["timestamp"] = value
    res = scan(write_jsonl(tmp_path / "r.jsonl", rows), out=tmp_path / "o")
    assert res.summary["rows_quarantined"] == 0


@pytest.mark.parametrize("created_at, released_at", [("infinity", "infinity"), ("-infinity", "-infinity"),
                                                     ("1999-12-31T00:00:00Z", "2100-02-01T00:00:00Z")])
def test_account_and_release_times_follow_the_same_rule(tmp_path, created_at, released_at):
    req = write_jsonl(tmp_path / "r.jsonl", [row(i) for i in range(5)])
    acc = write_jsonl(tmp_path / "a.jsonl", [{"account_id": "acct_a", "created_at": created_at},
                                             {"account_id": "acct_b", "created_at": "2026-01-01T00:00:00Z"}])
    rel = write_jsonl(tmp_path / "rel.jsonl", [{"model": "m1", "released_at": released_at},
                                               {"model": "m2", "released_at": "2026-04-01T00:00:00Z"}])
    res = scan(req, out=tmp_path / "o", accounts=acc, releases=rel)
    files = {Path(f["file"]).name: f for f in res.summary["files"]}
    assert files["a.jsonl"]["rows_quarantined"] == 1 and files["a.jsonl"]["rows_accepted"] == 1
    assert files["rel.jsonl"]["rows_quarantined"] == 1 and files["rel.jsonl"]["rows_accepted"] == 1


# -- byte-order marks and CSV dialects ---------------------------------------------------------------
def test_jsonl_with_a_byte_order_mark(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(row(i)) for i in range(3)).encode() + b"\n")
    res = scan(p, out=tmp_path / "o")
    assert res.summary["rows_quarantined"] == 0 and res.summary["rows_scored"] == 3


@pytest.mark.parametrize("sep, bom", [(",", True), (";", False), ("\t", False), (";", True)])
def test_accounts_csv_dialects(tmp_path, sep, bom):
    req = write_jsonl(tmp_path / "r.jsonl", [row(i) for i in range(3)])
    text = sep.join(["account_id", "created_at", "verification"]) + "\n" + \
        sep.join(["acct_a", "2026-01-01T00:00:00Z", "email"]) + "\n"
    p = tmp_path / "a.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    res = scan(req, out=tmp_path / "o", accounts=p)
    assert res.summary["files"][1]["rows_accepted"] == 1


def test_accounts_file_without_account_id_column_is_an_error(tmp_path):
    req = write_jsonl(tmp_path / "r.jsonl", [row(i) for i in range(3)])
    p = tmp_path / "a.csv"
    p.write_text("id,created_at\nacct_a,2026-01-01T00:00:00Z\n")
    with pytest.raises(InputError, match="no 'account_id' column"):
        scan(req, out=tmp_path / "o", accounts=p)


def test_side_file_with_no_valid_row_fails_loudly(tmp_path):
    req = write_jsonl(tmp_path / "r.jsonl", [row(i) for i in range(3)])
    wrong = write_jsonl(tmp_path / "rel.jsonl", [{"model": "m", "released_at": "2026-01-01T00:00:00Z"}])
    r = runner.invoke(app, ["scan", str(req), "--accounts", str(wrong), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "no valid account rows" in " ".join(r.output.split())
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "no valid account rows" in summary["error"]
    assert (tmp_path / "o" / "quarantine.jsonl").read_text().count("\n") == 1


def test_a_releases_file_without_accounts_is_named_as_releases(tmp_path):
    """Found by a new-user trial: with --releases but no --accounts, a releases file with no valid row
    was reported as having "no valid account rows"."""
    req = write_jsonl(tmp_path / "r.jsonl", [row(i) for i in range(3)])
    rel = write_jsonl(tmp_path / "rel.jsonl", [{"model": "aurora-3"}])
    r = runner.invoke(app, ["scan", str(req), "--releases", str(rel), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "rel.jsonl: no valid release rows" in text and "account" not in text
    assert "missing required field released_at" in text
    assert "JSON Lines expected" not in text  # the file is JSON Lines; a field is missing
    # a requests file that is not JSON Lines at all gets the format hint
    bad = tmp_path / "bad.jsonl"
    bad.write_text("account_id,timestamp\nacct_a,2026-04-22\n")
    r = runner.invoke(app, ["scan", str(bad), "--out", str(tmp_path / "o2")])
    assert r.exit_code == 2 and "JSON Lines expected" in " ".join(r.output.split())


# -- output directory ------------------------------------------------------------------------------
def test_out_that_is_a_file_fails_before_the_pipeline(tmp_path):
    req = write_jsonl(tmp_path / "r.jsonl", [row(i) for i in range(3)])
    f = tmp_path / "out"
    f.write_text("x")
    r = runner.invoke(app, ["scan", str(req), "--out", str(f)])
    assert r.exit_code == 2 and "must be a directory" in " ".join(r.output.split())
    assert "Traceback" not in r.output


def test_a_failed_run_neither_mixes_with_nor_destroys_the_previous_results(tmp_path):
    """A run refused for its input writes nothing into a folder holding an earlier scan's results
    (no failure files mixed with them, none of them deleted) and says so; into a folder without
    results it writes its quarantine and an error summary."""
    good = write_jsonl(tmp_path / "good.jsonl", [row(i) for i in range(3)])
    bad = write_jsonl(tmp_path / "bad.jsonl", ["{not json", "[1, 2]"])
    out = tmp_path / "o"
    assert runner.invoke(app, ["scan", str(good), "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = runner.invoke(app, ["scan", str(bad), "--out", str(out)])
    assert r.exit_code == 2
    assert "still holds the previous scan's results, unchanged" in " ".join(r.output.split())
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    fresh = tmp_path / "fresh"
    assert runner.invoke(app, ["scan", str(bad), "--out", str(fresh)]).exit_code == 2
    assert not (fresh / "accounts.csv").exists() and not (fresh / "report.html").exists()
    q = [json.loads(x) for x in (fresh / "quarantine.jsonl").read_text().splitlines()]
    assert [x["reason"] for x in q] == ["invalid JSON", "not a JSON object"]
    assert json.loads((fresh / "summary.json").read_text())["files"][0]["rows_read"] == 2


@pytest.mark.parametrize("make", ["dir", "missing"])
def test_requests_path_that_is_not_a_file(tmp_path, make):
    p = tmp_path / "x"
    if make == "dir":
        p.mkdir()
    r = runner.invoke(app, ["scan", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert ("is a directory" if make == "dir" else "file not found") in " ".join(r.output.split())


# -- evaluate and options ----------------------------------------------------------------------------
def test_evaluate_bad_paths_give_clear_errors(tmp_path):
    req = write_jsonl(tmp_path / "r.jsonl", [row(i) for i in range(3)])
    out = tmp_path / "o"
    assert runner.invoke(app, ["scan", str(req), "--out", str(out)]).exit_code == 0
    truth = tmp_path / "truth.csv"
    truth.write_text("account_id,label,campaign\nacct_a,benign,benign:x\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases = [(["--truth", str(truth), "--results", str(out / "accounts.csv")], "output directory"),
             (["--truth", str(tmp_path), "--results", str(out)], "this is a directory"),
             (["--truth", str(empty), "--results", str(out)], "is empty"),
             (["--truth", str(truth), "--results", str(tmp_path / "nothing")], "output directory")]
    # the truth of another log (found by a new-user trial: all metrics "n/a" and exit 0)
    other = tmp_path / "other_truth.csv"
    other.write_text("account_id,label,campaign\nacct_zz,attack,attack:x\nacct_yy,benign,benign:x\n")
    cases.append((["--truth", str(other), "--results", str(out)],
                  "no account of the truth file is in"))
    for args, msg in cases:
        r = runner.invoke(app, ["evaluate", *args])
        assert r.exit_code == 2, (args, r.output)
        assert msg in " ".join(r.output.split()), (args, r.output)
    # a truth file that covers only some scored accounts: figures for those, with a warning
    req2 = write_jsonl(tmp_path / "r2.jsonl", [row(i) for i in range(3)] + [row(i + 3, account="acct_b") for i in range(3)])
    out2 = tmp_path / "o2"
    assert runner.invoke(app, ["scan", str(req2), "--out", str(out2)]).exit_code == 0
    r = runner.invoke(app, ["evaluate", "--truth", str(truth), "--results", str(out2)])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "warning: 1 scored accounts are not in the truth file; the figures below cover only the 1 that are" in text
    r = runner.invoke(app, ["evaluate", "--truth", str(truth), "--results", str(out)])
    assert r.exit_code == 0 and "warning" not in r.output


@pytest.mark.parametrize("text, ok", [("8GB", "8GB"), ("512MiB", "512MiB"), ("1.5 gb", "1.5GB"),
                                      ("lots", None), ("8GB'", None), ("1KB", None), ("-5GB", None), ("", None)])
def test_memory_limit_is_validated(text, ok):
    if ok:
        assert parse_memory_limit(text) == ok
    else:
        with pytest.raises(ValueError):
            parse_memory_limit(text)


def test_version_option():
    from distillwatch import __version__

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"distillwatch {__version__}"
