"""The command line (``distillwatch.cli.app``) through Typer's CliRunner, on small hand-made files."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillwatch.cli import app
from distillwatch.schema import ACCOUNTS_CSV_COLUMNS
from distillwatch.signals import SIGNALS

from helpers import req, write_jsonl, write_tiny_intel

runner = CliRunner()


def squash(text: str) -> str:
    """Output without any whitespace (Rich wraps long lines, possibly inside a path)."""
    return re.sub(r"\s+", "", text)


def test_signals_lists_every_id_on_a_wide_terminal():
    res = runner.invoke(app, ["signals"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    out = squash(res.output)
    for sid, cls in SIGNALS.items():
        assert sid in out, sid
        assert squash(cls.description()) in out, sid


def test_signals_lists_every_id_at_the_default_80_columns():
    res = runner.invoke(app, ["signals"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    out = squash(res.output)
    missing = [sid for sid in SIGNALS if sid not in out]
    assert missing == []


# 4 accounts: a (3 rows), b (2), c (4), d (1); lines 5 and 9 are bad
SCAN_LINES = [
    req("r1", "Write a Python function that reverses a list.", account="acct_a", client_ip="1.2.3.4",
        ts="2026-03-02T10:00:00Z"),
    req("r2", "Explain your reasoning step by step: why is the sky blue?", account="acct_a", client_ip="1.2.3.4",
        ts="2026-03-02T11:00:00Z"),
    req("r3", "hello, how was your weekend", account="acct_b", client_ip="9.9.9.9", ts="2026-03-02T12:00:00Z"),
    req("r4", "Grade this answer against the rubric: Paris.", account="acct_c", client_ip="3.4.5.6",
        ts="2026-03-02T13:00:00Z"),
    "{this is not json",
    req("r5", "How many apples are left if I eat 3 of 7?", account="acct_c", client_ip="2001:db8::5",
        ts=1_772_445_600_000),
    req("r6", "What's the weather?", account="acct_d", tools=[{"name": "weather"}], ts="2026-03-02T15:30:00+05:30"),
    req("r7", "Tell me a joke", account="acct_b", client_ip="5.6.7.8", ts="2026-03-03T09:00:00Z"),
    req("r8", "bad ip", account="acct_e", client_ip="999.1.2.3"),
    req("r9", "Write SQL for me", account="acct_a", ts="2026-03-03T10:00:00Z"),
    req("r10", "Grade each response on a scale of 1 to 10.", account="acct_c", ts="2026-03-03T11:00:00Z"),
    req("r11", "Solve x + 2 = 5", account="acct_c", ts="2026-03-03T12:00:00Z"),
]
EXPECTED_REQUESTS = {"acct_a": 3, "acct_b": 2, "acct_c": 4, "acct_d": 1}
EXPECTED_QUARANTINE = [(5, None, "invalid JSON"), (9, "client_ip", "invalid IP address: 999.1.2.3")]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_scan")
    log = write_jsonl(d / "requests.jsonl", SCAN_LINES)
    intel = write_tiny_intel(d / "ip")
    out = d / "results"
    res = runner.invoke(app, ["scan", str(log), "--out", str(out), "--intel", str(intel)])
    return res, out


def test_scan_exits_zero(scanned):
    res, _ = scanned
    assert res.exit_code == 0, res.output + repr(res.exception)
    # no --accounts: the scan says what that gives up (found by a new-user trial)
    assert "no --accounts file: identity links" in " ".join(res.output.split())


def test_scan_accounts_csv(scanned):
    _, out = scanned
    with open(out / "accounts.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["account_id", "risk", "tier", "campaign_id", "requests", "reasons"]
    assert tuple(rows[0]) == ACCOUNTS_CSV_COLUMNS
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert {r["account_id"]: int(r["requests"]) for r in body} == EXPECTED_REQUESTS
    assert len(body) == len(EXPECTED_REQUESTS)  # one row per account seen; acct_e only had a bad row
    for r in body:
        assert 0.0 <= float(r["risk"]) <= 1.0
        assert r["tier"] in ("ban", "review", "clear")
        for sid in filter(None, r["reasons"].split(";")):
            assert sid in SIGNALS


def test_scan_campaigns_json(scanned):
    _, out = scanned
    data = json.loads((out / "campaigns.json").read_text())
    assert set(data) == {"campaigns"}
    assert isinstance(data["campaigns"], list)


def test_scan_quarantine_jsonl(scanned):
    _, out = scanned
    lines = (out / "quarantine.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert [(q["line"], q["field"], q["reason"]) for q in recs] == EXPECTED_QUARANTINE
    assert all(set(q) >= {"file", "line", "field", "reason", "raw"} for q in recs)
    assert all(q["file"].endswith("requests.jsonl") for q in recs)


def test_scan_summary_reconciles(scanned):
    _, out = scanned
    s = json.loads((out / "summary.json").read_text())
    assert s["rows_read"] == len(SCAN_LINES) == 12
    assert s["rows_scored"] == 10
    assert s["rows_quarantined"] == 2
    assert s["rows_read"] == s["rows_scored"] + s["rows_quarantined"]
    assert s["reconciles"] is True
    assert s["accounts"] == 4
    assert sum(s["tiers"].values()) == 4
    assert s["campaigns"] == len(json.loads((out / "campaigns.json").read_text())["campaigns"])


def test_scan_reports(scanned):
    _, out = scanned
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert md.strip()
    assert "<html" in html.lower() and "</html>" in html.lower()


def test_scan_prints_reconciled_counts(scanned):
    res, _ = scanned
    out = squash(res.output)
    assert "rowsread12" in out and "quarantined2" in out


def test_scan_missing_file_exits_2(tmp_path):
    missing = tmp_path / "no_such_dir" / "requests.jsonl"
    res = runner.invoke(app, ["scan", str(missing), "--out", str(tmp_path / "out"),
                              "--intel", str(write_tiny_intel(tmp_path / "ip"))])
    assert res.exit_code == 2
    assert squash(str(missing)) in squash(res.output)


def test_scan_all_rows_bad_exits_2(tmp_path):
    log = write_jsonl(tmp_path / "requests.jsonl", ["{bad", "[1]"])
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "out"),
                              "--intel", str(write_tiny_intel(tmp_path / "ip"))])
    assert res.exit_code == 2
    assert squash(str(log)) in squash(res.output)
    # the error is the first thing printed: no leftover progress line ("⠋ ingest 0:00:00") before it
    assert res.output.lstrip().startswith("error:"), res.output[:200]


def test_scan_error_in_a_log_file_has_no_blank_lines(tmp_path):
    """stderr redirected to a file or pipe (not a terminal): the message is the only line, with no
    empty line before or after it from the progress display."""
    import os
    import subprocess
    import sys

    log = write_jsonl(tmp_path / "requests.jsonl", ["{bad", "[1]"])
    src = str(Path(__file__).resolve().parents[1] / "src")
    r = subprocess.run([sys.executable, "-m", "distillwatch.cli", "scan", str(log), "--out", str(tmp_path / "out"),
                        "--intel", str(write_tiny_intel(tmp_path / "ip"))],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src, "COLUMNS": "400"})
    assert r.returncode == 2
    lines = r.stderr.split("\n")
    assert lines[0].startswith("error: ") and str(log) in lines[0], r.stderr[:300]
    assert lines[1:] == [""], r.stderr[:300]  # one line, ended by one newline


def test_a_refused_scan_leaves_the_previous_results_whole(tmp_path):
    """An earlier scan's results survive a later scan into the same folder that fails before its
    outputs: a missing log, a log with no valid row, a work folder that is a file."""
    log = write_jsonl(tmp_path / "requests.jsonl", SCAN_LINES)
    intel = str(write_tiny_intel(tmp_path / "ip"))
    out = tmp_path / "results"
    res = runner.invoke(app, ["scan", str(log), "--out", str(out), "--intel", intel])
    assert res.exit_code == 0, res.output
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "manifest.json" in before and "accounts.csv" in before
    bad = write_jsonl(tmp_path / "bad.jsonl", ["{bad", "[1]"])
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args in (["scan", str(tmp_path / "missing.jsonl")], ["scan", str(bad)],
                 ["scan", str(log), "--work-dir", str(afile)]):
        res = runner.invoke(app, args + ["--out", str(out), "--intel", intel])
        assert res.exit_code == 2, (args, res.output)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before, args
    res = runner.invoke(app, ["scan", str(bad), "--out", str(out), "--intel", intel])
    assert "stillholdsthepreviousscan'sresults,unchanged" in squash(res.output)
    # a folder without earlier results gets the failure's summary and quarantine, as before
    fresh = tmp_path / "fresh"
    res = runner.invoke(app, ["scan", str(bad), "--out", str(fresh), "--intel", intel])
    assert res.exit_code == 2
    assert json.loads((fresh / "summary.json").read_text())["error"]
    assert len((fresh / "quarantine.jsonl").read_text().splitlines()) == 2


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------
TRUTH = [("a1", "attack", "c1"), ("a2", "attack", "c1"), ("a3", "attack", "c2"), ("a8", "attack", "c2"),
         ("a4", "benign", "benign:ordinary"), ("a5", "benign", "benign:ordinary"), ("a6", "benign", "benign:ci"),
         ("a9", "benign", "benign:ordinary")]  # a9 is not in the results
RESULTS = [("a1", "ban", "C0001"), ("a2", "review", "C0001"), ("a3", "clear", ""), ("a8", "review", ""),
           ("a4", "review", ""), ("a5", "review", ""), ("a6", "clear", ""),
           ("a7", "ban", "C0002")]  # a7 is not in the truth
# by hand, over the 7 accounts in both files:
# ban+review flagged a1 a2 a8 a4 a5: tp 3 (a1 a2 a8), fp 2 (a4 a5), fn 1 (a3) -> precision 0.600, recall 0.750
# ban flagged a1: tp 1, fp 0, fn 3 -> precision 1.000, recall 0.250
# ARI over attack accounts: truth {a1 a2}{a3 a8}, predicted {a1 a2}{a3}{a8} -> (1 - 1/3) / (3/2 - 1/3) = 4/7
ARI = 4 / 7


def _write_eval_inputs(d: Path, truth=TRUTH, results=RESULTS) -> tuple[Path, Path]:
    truth_path = d / "truth.csv"
    with open(truth_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["account_id", "label", "campaign"])
        w.writerows(truth)
    res_dir = d / "results"
    res_dir.mkdir()
    with open(res_dir / "accounts.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(ACCOUNTS_CSV_COLUMNS)
        for acc, tier, camp in results:
            w.writerow([acc, "0.900000" if tier != "clear" else "0.100000", tier, camp, 10, ""])
    (res_dir / "campaigns.json").write_text(json.dumps({"campaigns": []}))
    return truth_path, res_dir


def test_evaluate_prints_hand_computed_metrics(tmp_path):
    truth, results = _write_eval_inputs(tmp_path)
    json_out = tmp_path / "metrics.json"
    res = runner.invoke(app, ["evaluate", "--truth", str(truth), "--results", str(results), "--json", str(json_out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    lines = res.output.splitlines()
    br = next(x for x in lines if x.startswith("ban+review:"))
    ban = next(x for x in lines if x.startswith("ban:"))
    assert "precision 0.600" in br and "recall 0.750" in br
    assert "tp 3" in br and "fp 2" in br and "fn 1" in br
    assert "precision 1.000" in ban and "recall 0.250" in ban
    assert f"{ARI:.3f}" in res.output
    m = json.loads(json_out.read_text())
    assert m["ban_review"] == {"tp": 3, "fp": 2, "fn": 1,
                               "precision": pytest.approx(0.6), "recall": pytest.approx(0.75)}
    assert m["ban"] == {"tp": 1, "fp": 0, "fn": 3, "precision": pytest.approx(1.0), "recall": pytest.approx(0.25)}
    assert m["ari"] == pytest.approx(ARI)
    assert (m["n_scored"], m["missing_in_results"], m["missing_in_truth"]) == (7, 1, 1)
    assert m["benign_flagged"]["benign:ordinary"] == {"accounts": 2, "review": 2, "ban": 0}
    assert m["per_campaign"]["c2"]["recall"] == pytest.approx(0.5)


def test_evaluate_no_flags_gives_no_precision(tmp_path):
    truth, results = _write_eval_inputs(tmp_path, results=[(a, "clear", "") for a, _, _ in TRUTH])
    json_out = tmp_path / "m.json"
    res = runner.invoke(app, ["evaluate", "--truth", str(truth), "--results", str(results), "--json", str(json_out)])
    assert res.exit_code == 0, res.output
    m = json.loads(json_out.read_text())
    assert m["ban_review"]["precision"] is None  # empty denominator: None, never a made-up 1.0
    assert m["ban_review"]["recall"] == 0.0


def test_evaluate_bad_label_exits_2(tmp_path):
    bad = [("a1", "malicious", "c1")] + TRUTH[1:]
    truth, results = _write_eval_inputs(tmp_path, truth=bad)
    res = runner.invoke(app, ["evaluate", "--truth", str(truth), "--results", str(results)])
    assert res.exit_code == 2
    assert "malicious" in res.output


def test_evaluate_missing_results_exits_2(tmp_path):
    truth, _ = _write_eval_inputs(tmp_path)
    res = runner.invoke(app, ["evaluate", "--truth", str(truth), "--results", str(tmp_path / "nothing_here")])
    assert res.exit_code == 2


def test_scan_engine_options_are_checked_before_any_work(tmp_path):
    log = tmp_path / "r.jsonl"
    write_jsonl(log, [req("r1")])
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o"), "--engine", "postgres"])
    assert res.exit_code == 2 and "expectedduckdborspark" in squash(res.output)
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o"), "--spark-master", "spark://h:7077"])
    assert res.exit_code == 2 and "applyonlywith--enginespark" in squash(res.output)
    assert not (tmp_path / "o").exists()


def test_scan_with_work_dir_gives_the_same_results_and_leaves_no_database(scanned, tmp_path):
    """--work-dir keeps the intermediate tables in a database file: same outputs, file removed at the end."""
    _, out_mem = scanned
    log = write_jsonl(tmp_path / "requests.jsonl", SCAN_LINES)
    intel = write_tiny_intel(tmp_path / "ip")
    work = tmp_path / "work"
    out = tmp_path / "results"
    res = runner.invoke(app, ["scan", str(log), "--out", str(out), "--intel", str(intel), "--work-dir", str(work)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    for name in ("accounts.csv", "campaigns.json"):
        assert (out / name).read_text() == (out_mem / name).read_text(), name
    def strip(text):  # the quarantine records name their own input file
        return [{k: v for k, v in json.loads(x).items() if k != "file"} for x in text.splitlines()]

    assert strip((out / "quarantine.jsonl").read_text()) == strip((out_mem / "quarantine.jsonl").read_text())
    assert work.is_dir() and list(work.iterdir()) == []
    # the manifest records how the scan ran, the work folder included
    assert json.loads((out / "manifest.json").read_text())["config"]["engine_options"] == {"work_dir": str(work)}
    assert json.loads((out_mem / "manifest.json").read_text())["config"]["engine_options"] == {}


def test_work_dir_is_refused_with_spark_and_when_its_database_exists(tmp_path):
    log = write_jsonl(tmp_path / "requests.jsonl", SCAN_LINES)
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o1"), "--engine", "spark",
                              "--work-dir", str(tmp_path / "w")])
    assert res.exit_code == 2 and "--work-dir applies only with --engine duckdb" in res.output
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "work.duckdb").write_bytes(b"")
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o2"), "--work-dir", str(tmp_path / "w")])
    assert res.exit_code == 2 and "work.duckdb already exists" in res.output


def test_work_dir_that_is_a_file_or_read_only_is_a_clear_error(tmp_path):
    log = write_jsonl(tmp_path / "requests.jsonl", SCAN_LINES)
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o1"), "--work-dir", str(afile)])
    assert res.exit_code == 2 and f"work folder {afile}: cannot use it as a folder" in res.output
    assert f"({afile} is a file, not a folder)" in res.output  # not the OS's "File exists"
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o3"), "--work-dir", str(afile / "sub")])
    assert res.exit_code == 2 and f"({afile} is a file, not a folder)" in res.output
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o2"), "--work-dir", "/proc/distillwatch-x"])
    assert res.exit_code == 2 and "work folder /proc/distillwatch-x" in res.output
    # the refused scans leave no empty output folders behind; an existing one is kept
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()
    (tmp_path / "o3").mkdir()
    res = runner.invoke(app, ["scan", str(log), "--out", str(tmp_path / "o3"), "--work-dir", str(afile)])
    assert res.exit_code == 2 and (tmp_path / "o3").is_dir()


def test_scan_summary_peak_rss_per_stage(scanned):
    """Each timed stage records the peak RSS reached by its end: positive, never decreasing from one
    stage to the next (a high-water mark), and the same stages as the timings."""
    _, out = scanned
    s = json.loads((out / "summary.json").read_text())
    peaks = s["peak_rss_bytes_after_stage"]
    assert list(peaks) == [k for k in s["timings_s"] if k != "total"]
    vals = list(peaks.values())
    assert all(v > 10 * 2 ** 20 for v in vals)  # a Python process with DuckDB loaded is well over 10 MiB
    assert vals == sorted(vals)


def test_peak_rss_bytes_covers_a_touched_allocation():
    """In a fresh process, the peak after touching a 256 MiB block is at least 256 MiB, and not
    wildly more (the interpreter with pandas and DuckDB imported is well under 1 GiB)."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np; from distillwatch.pipeline import peak_rss_bytes; "
            "before = peak_rss_bytes(); b = np.ones(256 * 2 ** 20, dtype=np.uint8); print(before, peak_rss_bytes())")
    src = str(Path(__file__).resolve().parents[1] / "src")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONPATH": src})
    before, after = map(int, r.stdout.split())
    assert after >= 256 * 2 ** 20
    assert after >= before  # a high-water mark never falls
    assert after < 256 * 2 ** 20 + 2 ** 30


def test_manifest_records_a_relative_work_dir_as_a_full_path(tmp_path, monkeypatch):
    log = write_jsonl(tmp_path / "requests.jsonl", SCAN_LINES)
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["scan", str(log), "--out", "o", "--intel", str(write_tiny_intel(tmp_path / "ip")),
                              "--work-dir", "w"])
    assert res.exit_code == 0, res.output
    opts = json.loads((tmp_path / "o" / "manifest.json").read_text())["config"]["engine_options"]
    assert opts == {"work_dir": str((tmp_path / "w").resolve())}
