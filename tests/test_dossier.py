"""The campaign dossier (``distillwatch.report.dossier``) and the PII redactor (``report.redact``).

* Counts: a real scan of a small simulated log; the dossier's per-campaign account and request
  counts must equal counts taken directly from the input ``requests.jsonl`` (parsed here with json).
* Redaction: a table of positives (each must become its placeholder) and near misses (each must
  survive unchanged).
* Escaping: hostile text in the evidence tables comes out escaped in HTML and inert in Markdown.
* Visual: headless Chromium screenshots the HTML dossier (skipped without Chromium); the PNG is
  kept under ``$DISTILLWATCH_TEST_ARTIFACTS`` (default ``<repo>/test-artifacts/``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

from distillwatch.errors import InputError
from distillwatch.report import dossier as D
from distillwatch.report.dossier import compare_sentence, dossier_data, find_chromium, render_dossier
from distillwatch.report.redact import redact

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "prompts").is_dir() or not (SHARED / "ip").is_dir(),
                                  reason="needs ../shared/data (prompts and ip)")
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (apt-get install chromium)")

HOSTILE = '<script>alert("x")</script> mail evil@example.com'


# ------------------------------------------------------------------------------------------ redaction

REDACT_POSITIVES = [
    ("write to jane.doe@example.com today", "write to [EMAIL] today"),
    ("cc: a.b+tag@mail.example.co.uk,", "cc: [EMAIL],"),
    ("key sk-proj-abcDEF1234567890abcdEFGH done", "key [API_KEY] done"),
    ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx", "[API_KEY]"),
    ("id AKIAIOSFODNN7EXAMPLE here", "id [API_KEY] here"),
    ("Authorization: Bearer eyJhbGciOi.abc-123_x", "Authorization: Bearer [API_KEY]"),
    ("gh token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh token [API_KEY]"),
    ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "[API_KEY]"),
    ("md5 d41d8cd98f00b204e9800998ecf8427e end", "md5 [API_KEY] end"),
    ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY x", "secret [API_KEY] x"),
    ('{"api_key": "abcdefgh1234"}', '{"api_key": "[API_KEY]"}'),
    ("password=hunter22x", "password=[API_KEY]"),
    # a password given in words (found by a new-user trial in a dossier's example request)
    ("login with username 'mthompson' and password as 'securePass123'. Then",
     "login with username 'mthompson' and password as '[API_KEY]'. Then"),
    ("my password is Secret123!", "my password is [API_KEY]"),
    ("the wifi passcode is hunter2.", "the wifi passcode is [API_KEY]."),
    ("my password was p@ssw0rd, ok", "my password was [API_KEY], ok"),
    ("username 'john' and password 'john0'", "username 'john' and password '[API_KEY]'"),  # a real BFCL prompt's shape
    ("pwd=Tr0ub4dor&3 then", "pwd=[API_KEY] then"),
    ("from 192.168.0.1 and 10.0.0.255:8080", "from [IP] and [IP]:8080"),
    ("v6 2001:db8::1 and fe80::1%eth0", "v6 [IP] and [IP]"),
    ("mapped ::ffff:203.0.113.7 ok", "mapped [IP] ok"),
    ("loopback ::1 and [2001:0db8:85a3:0000:0000:8a2e:0370:7334]:443", "loopback [IP] and [[IP]]:443"),
    ("card 4111 1111 1111 1111 exp", "card [CARD] exp"),
    ("card 4111-1111-1111-1111.", "card [CARD]."),
    ("pan 5500005555555559", "pan [CARD]"),
    ("amex 3782 822463 10005", "amex [CARD]"),
    ("call +1 (555) 123-4567 now", "call [PHONE] now"),
    ("or 555-123-4567 or (555) 123-4567", "or [PHONE] or [PHONE]"),
    ("uk +44 20 7946 0958", "uk [PHONE]"),
    ("fr +33 1 23 45 67 89.", "fr [PHONE]."),
]

REDACT_NEGATIVES = [
    "version 1.2.3 and 10.4.2",
    "OpenAI/Python 1.54.3",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "in 2024, from 2023-2024, on 2024-05-01 at 12:30:45",
    "pi is 3.14159; 42 items; 1,000,000 users; 7.0 h",
    "the sequence 1.2.3.4.5 is not an address",
    "4,487 IP addresses in 1,553 networks (ASNs)",
    "card 4111 1111 1111 1112 fails the Luhn check",
    "order 1234567890 and 12345678901234",
    "ISBN 978-3-16-148410-0",
    "uuid 550e8400-e29b-41d4-a716-446655440000",
    "std::vector<int> and a::b, ab::cd",
    "MAC 00:1A:2B:3C:4D:5E",
    "/usr/lib/x86_64-linux-gnu/libPython3.11.so.1.0",
    "supercalifragilisticexpialidociousword",
    "camelCaseIdentifierWithManyWords1234",
    "acct_4129d5e482ce164c and req_822823170e298d7506a34d2e",
    "Basic qualifications: basic building blocks",
    "the max_tokens=4096 parameter",
    "email me at name at example dot com",
    "+1 more",
    "the password is required and must be strong.",
    "Your password is too short; passwords should be 12 characters.",
]


@pytest.mark.parametrize(("text", "expected"), REDACT_POSITIVES)
def test_redact_replaces_pii_and_secrets(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected  # idempotent


@pytest.mark.parametrize("text", REDACT_NEGATIVES)
def test_redact_leaves_near_misses_alone(text):
    assert redact(text) == text


def test_redact_none_and_empty():
    assert redact(None) == ""
    assert redact("") == ""


# ------------------------------------------------------------------------------------------ a hand-made results dir

def _results_dir(d: Path, n_big: int = 4, examples_text: str = "hello there") -> Path:
    """A minimal results directory with two campaigns (C0001: ``n_big`` accounts, C0002: 2)."""
    d.mkdir(parents=True, exist_ok=True)
    big = [f"acct_b{i:03d}" for i in range(n_big)]
    small = ["acct_s000", "acct_s001"]

    def camp(cid, accts, n_req, caps):
        return {"campaign_id": cid, "accounts": accts, "n_accounts": len(accts), "n_requests": n_req,
                "first_seen": "2026-04-22T00:00:00Z", "last_seen": "2026-04-23T23:00:00Z", "capabilities": caps,
                "proxy_share": 0.8, "n_client_ips": 2, "n_asns": 1, "n_ip_countries": 1,
                "top_asns": [{"asn": 64500, "org": HOSTILE, "requests": n_req, "share": 1.0}],
                "inferred_utc_offset": 8, "link_families": ["content"],
                "evidence": ["campaign.shared_template: all accounts send template t_1 <b>bold</b>",
                             "campaign.release_pivot: 50% of accounts moved to m-<2> within 24 h of its release"],
                "signals": {"campaign.release_pivot": {"value": 0.5, "score": 0.4, "family": "behaviour"}},
                "score": 0.99}

    n_big_req = 3 * n_big
    (d / "campaigns.json").write_text(json.dumps({"campaigns": [
        camp("C0001", big, n_big_req, {"coding": 0.7, "reasoning": 0.3}),
        camp("C0002", small, 4, {"rubric_grading": 1.0})]}))
    (d / "summary.json").write_text(json.dumps({"distillwatch_version": "test", "rows_read": n_big_req + 4 + 5,
                                                "rows_scored": n_big_req + 9, "rows_quarantined": 0, "reconciles": True,
                                                "accounts": n_big + 3, "tiers": {"ban": n_big + 2, "review": 1, "clear": 0},
                                                "campaigns": 2, "data_versions": {"intel_description": "test"}}))
    pd.DataFrame({"campaign_id": ["C0001"] * n_big + ["C0002"] * 2, "account_id": big + small}).to_parquet(
        d / "campaign_members.parquet")
    day1, day2 = pd.Timestamp("2026-04-22").date(), pd.Timestamp("2026-04-23").date()
    pd.DataFrame({"campaign_id": ["C0001", "C0001", "C0002"], "day": [day1, day2, day2],
                  "model": ["m-1", f"m-<2>{HOSTILE}", "m-1"], "n_requests": [n_big_req - 1, 1, 4],
                  "n_accounts": [n_big, 1, 2]}).to_parquet(d / "campaign_daily.parquet")
    t0 = pd.Timestamp("2026-04-22T01:00:00Z")
    pd.DataFrame({"campaign_id": ["C0001", "C0001", "C0001", "C0002"], "kind": ["asn", "proxy", "template", "template"],
                  "value": ["AS64500", "vpn", "t_1", "t_2"], "detail": [HOSTILE, HOSTILE, f"skeleton {HOSTILE}", "s2"],
                  "n_requests": [n_big_req, n_big_req, n_big_req, 4], "n_accounts": [n_big, n_big, n_big, 2],
                  "first_seen": [t0] * 4, "last_seen": [t0] * 4}).to_parquet(d / "campaign_artifacts.parquet")
    edges = [("C0001", a, "template", "t_1") for a in big] + [("C0001", a, "ip_day", "203.0.113.9@2026-04-22")
                                                              for a in big[:2]]
    edges += [("C0002", a, "payment", "pmfp_x") for a in small]
    pd.DataFrame(edges, columns=["campaign_id", "account_id", "kind", "artifact"]).to_parquet(d / "campaign_edges.parquet")
    accts = big + small + ["acct_other"]
    pd.DataFrame({"account_id": accts,
                  "org_id": ["org-A"] * n_big + ["org-B", None, "org-B"],
                  "created_at": [t0 - pd.Timedelta(days=2)] * len(accts),
                  "verification": ["email"] * len(accts), "first_seen": [t0] * len(accts),
                  "last_seen": [t0] * len(accts), "n_requests": [3] * n_big + [2, 2, 5],
                  "tier": ["ban"] * (n_big + 2) + ["review"], "risk": [0.9] * len(accts),
                  "campaign_id": ["C0001"] * n_big + ["C0002"] * 2 + [None]}).to_parquet(d / "account_meta.parquet")
    pd.DataFrame({"campaign_id": ["C0001"], "template_id": ["t_1"], "request_id": ["r1"],
                  "user_text": [examples_text]}).to_parquet(d / "campaign_examples.parquet")
    return d


def test_html_escapes_every_log_value(tmp_path):
    d = _results_dir(tmp_path / "res", examples_text=f"please {HOSTILE} call +1 (555) 123-4567")
    html = render_dossier(d, "html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    # the example and the template skeleton went through the redactor
    examples = html.split("Prompt templates", 1)[1].split("Why this is", 1)[0]
    assert "evil@example.com" not in examples and "555" not in examples
    quotes = re.findall(r"<blockquote>(.*?)</blockquote>", examples, re.S)
    assert len(quotes) == 2 and all("[EMAIL]" in q and "&lt;script&gt;" in q for q in quotes)
    assert "[PHONE]" in quotes[1]
    md = render_dossier(d, "md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!\\)<", md), "every < from the log is backslash-escaped in Markdown"
    assert "\\<script\\>" in md
    examples = md.split("Prompt templates", 1)[1].split("Why this is", 1)[0]
    assert "evil@example.com" not in examples and "\\[EMAIL\\]" in examples


def test_counts_comparison_and_tenants_on_a_hand_made_results_dir(tmp_path):
    d = _results_dir(tmp_path / "res", n_big=5)
    ctx = dossier_data(d)
    assert [(c["campaign_id"], c["n_accounts"], c["n_requests"]) for c in ctx["campaigns"]] == [
        ("C0001", 5, 15), ("C0002", 2, 4)]
    assert all(not c["warnings"] for c in ctx["campaigns"])
    assert ctx["comparison_sentence"] == ("C0001 is larger than the other campaign: 5 accounts against 2, "
                                          "15 requests against 4.")
    orgs = {o["org_id"]: o for o in ctx["tenants"]["orgs"]}
    assert orgs["org-A"]["flagged_requests"] == 15 and orgs["org-A"]["n_ban"] == 5
    assert orgs["org-B"]["requests"] == 7 and orgs["org-B"]["flagged_requests"] == 7
    assert orgs["org-B"]["n_ban"] == 1 and orgs["org-B"]["n_review"] == 1
    assert orgs[D.NO_ORG]["flagged_requests"] == 2
    # the sentence counts the accounts inside organisations apart from those without one
    n_in = len(orgs["org-A"]["flagged"]) + len(orgs["org-B"]["flagged"])
    n_out = len(orgs[D.NO_ORG]["flagged"])
    md = render_dossier(d, "md", tmp_path / "t.md").read_text()
    want = (f"{n_in} flagged accounts (ban or review) in 2 of {ctx['tenants']['n_orgs_total']} organisations, "
            f"and {n_out} flagged account{'s' if n_out != 1 else ''} without an organisation")
    assert n_in == 7 and want in " ".join(md.split())
    c1 = ctx["campaigns"][0]
    assert c1["utc_offset_label"] == "UTC+8"
    assert c1["pivot"] is not None and c1["pivot"]["value"] == 0.5
    assert [m["model"] for m in c1["later_models"]] == [f"m-<2>{HOSTILE}"]
    # artifacts holding addresses are redacted in the dossier
    assert any(t["artifact"] == "[IP]@2026-04-22" for k in c1["edge_kinds"] for t in k["top"])


def test_egress_table_has_a_no_proxy_row_only_when_some_requests_had_none(tmp_path):
    """Found by a new-user trial: an all-proxy campaign's egress table ended with "no proxy … 0 | 0.0%".
    In the hand-made results C0001's 12 requests all came through a VPN; C0002 has no proxy artifact."""
    d = _results_dir(tmp_path / "res")
    for fmt in ("md", "html"):
        text = render_dossier(d, fmt, tmp_path / f"e.{fmt}").read_text(encoding="utf-8")
        sec1, sec2 = [x.split("organisation", 1)[0] for x in text.split("Egress: proxies and networks")[1:]]  # C0001, C0002
        assert "VPN" in sec1 and "no proxy (residential / other)" not in sec1
        assert "no proxy (residential / other)" in sec2


def test_rendering_is_deterministic(tmp_path):
    d = _results_dir(tmp_path / "res")
    first = render_dossier(d, "html", tmp_path / "a.html").read_bytes()
    assert render_dossier(d, "html", tmp_path / "b.html").read_bytes() == first
    assert render_dossier(d, "md", tmp_path / "a.md").read_bytes() == render_dossier(d, "md", tmp_path / "b.md").read_bytes()


def test_inconsistent_results_are_flagged(tmp_path):
    d = _results_dir(tmp_path / "res")
    data = json.loads((d / "campaigns.json").read_text())
    data["campaigns"][0]["n_requests"] += 1
    (d / "campaigns.json").write_text(json.dumps(data))
    c1 = dossier_data(d)["campaigns"][0]
    assert c1["warnings"] and "requests" in c1["warnings"][0]


def test_graph_is_capped(tmp_path):
    d = _results_dir(tmp_path / "res", n_big=D.GRAPH_MAX_ACCOUNTS + 30)
    c1 = dossier_data(d)["campaigns"][0]
    assert c1["graph"]["accounts_total"] == D.GRAPH_MAX_ACCOUNTS + 30
    assert c1["graph"]["accounts_shown"] == D.GRAPH_MAX_ACCOUNTS
    html = render_dossier(d, "html").read_text(encoding="utf-8")
    assert f"capped at {D.GRAPH_MAX_ACCOUNTS} accounts" in html


def test_missing_results_file_is_a_clear_error(tmp_path):
    d = _results_dir(tmp_path / "res")
    (d / "campaign_edges.parquet").unlink()
    with pytest.raises(InputError, match="campaign_edges.parquet"):
        render_dossier(d, "html")
    with pytest.raises(ValueError, match="unknown dossier format"):
        render_dossier(d, "docx")


def test_pdf_without_chromium_says_what_to_install(tmp_path, monkeypatch):
    d = _results_dir(tmp_path / "res")
    monkeypatch.setattr(D, "find_chromium", lambda: None)
    with pytest.raises(D.DossierError, match="apt-get install chromium"):
        render_dossier(d, "pdf")


@pytest.mark.parametrize(("rows", "expected"), [
    ([], "No campaign was found."),
    ([{"campaign_id": "C1", "n_accounts": 3, "n_requests": 10}],
     "One campaign was found: C1, 3 accounts and 10 requests."),
    ([{"campaign_id": "C1", "n_accounts": 42, "n_requests": 5305}, {"campaign_id": "C2", "n_accounts": 6, "n_requests": 3038},
      {"campaign_id": "C3", "n_accounts": 3, "n_requests": 2375}],
     "C1 is larger than the other 2 campaigns combined in accounts (42 against 9); C1 has the most requests "
     "(5,305, 49% of all campaigns' requests) but fewer than the other 2 campaigns combined (5,413)."),
    ([{"campaign_id": "C1", "n_accounts": 10, "n_requests": 900}, {"campaign_id": "C2", "n_accounts": 4, "n_requests": 300},
      {"campaign_id": "C3", "n_accounts": 3, "n_requests": 200}],
     "C1 is larger than the other 2 campaigns combined: 10 accounts against 7, 900 requests against 500."),
])
def test_compare_sentence(rows, expected):
    assert compare_sentence(rows) == expected


# ------------------------------------------------------------------------------------------ a real scan

@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    if not (SHARED / "prompts").is_dir() or not (SHARED / "ip").is_dir():
        pytest.skip("needs ../shared/data (prompts and ip)")
    from distillwatch.pipeline import scan
    from distillwatch.simulate import simulate

    base = tmp_path_factory.mktemp("dossier")
    data, out = base / "data", base / "out"
    simulate(data, seed=3, scale=0.05)
    scan(data / "requests.jsonl", out=out, accounts=data / "accounts.jsonl", releases=data / "releases.jsonl")
    return data, out


def _counts_from_input(requests_jsonl: Path, campaigns: list[dict]) -> dict[str, tuple[int, int]]:
    """(accounts, requests) per campaign, counted straight from the input log."""
    owner = {a: c["campaign_id"] for c in campaigns for a in c["accounts"]}
    reqs, accts = Counter(), defaultdict(set)
    with open(requests_jsonl, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            cid = owner.get(row.get("account_id"))
            if cid:
                reqs[cid] += 1
                accts[cid].add(row["account_id"])
    return {c["campaign_id"]: (len(accts[c["campaign_id"]]), reqs[c["campaign_id"]]) for c in campaigns}


@needs_shared
def test_dossier_counts_match_the_input_file(scanned):
    data, out = scanned
    campaigns = json.loads((out / "campaigns.json").read_text())["campaigns"]
    assert campaigns, "the simulated log should hold at least one campaign"
    truth = _counts_from_input(data / "requests.jsonl", campaigns)

    html = render_dossier(out, "html").read_text(encoding="utf-8")
    got = {m["id"]: (int(m["a"]), int(m["r"])) for m in re.finditer(
        r'<section class="campaign" id="[^"]*" data-campaign-id="(?P<id>[^"]+)" data-accounts="(?P<a>\d+)" '
        r'data-requests="(?P<r>\d+)"', html)}
    assert got == truth
    for cid, (a, r) in truth.items():  # the comparison table shows the same numbers
        row = re.search(rf'<tr data-campaign-id="{cid}">(.*?)</tr>', html, re.S).group(1)
        cells = re.findall(r'<td class="n">([^<]*)</td>', row)
        assert cells[0] == f"{a:,}" and cells[2] == f"{r:,}"

    md = render_dossier(out, "md").read_text(encoding="utf-8")
    # the header reconciles the side files too (found by a new-user trial: it counted request rows only,
    # while quarantine.jsonl also holds the accounts file's rows)
    for name in ("accounts.jsonl", "releases.jsonl"):
        n = sum(1 for line in (data / name).read_text().splitlines() if line.strip())
        assert f"`{name}`: {n:,} rows read, 0 quarantined" in md.split("\n\n", 2)[1], name
    for cid, (a, r) in truth.items():
        assert re.search(rf"^\| {cid} \| {a:,} \| \d+% \| {r:,} \|", md, re.M), cid
        section = md.split(f"## Campaign {cid} ", 1)[1]
        assert f"| {a:,} | {r:,} |" in section.split("\n### ", 1)[0]
    # every member's requests in the tenant view add up to the same totals
    ctx = dossier_data(out, plots=False)
    flagged = {a["account_id"]: a["requests"] for o in ctx["tenants"]["orgs"] for a in o["flagged"]}
    for c in campaigns:
        assert sum(flagged.get(a, 0) for a in c["accounts"]) == truth[c["campaign_id"]][1]


@needs_shared
def test_dossier_shows_every_section(scanned):
    _, out = scanned
    html = render_dossier(out, "html").read_text(encoding="utf-8")
    for heading in ("Timeline and daily volume per model", "Release pivot", "Capability mix",
                    "Inferred operator time zone", "Egress: proxies and networks", "Account creation waves",
                    "Linking evidence", "Prompt templates (examples redacted)", "Why this is a campaign",
                    "Comparison across campaigns", "Tenant view", "Sources"):
        assert heading in html, heading
    assert html.count("<svg") >= 3 * len(json.loads((out / "campaigns.json").read_text())["campaigns"])
    # self-contained: no external asset, no script
    assert not re.search(r'<(?:script|link|img|iframe)\b', html, re.I)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


@needs_shared
@needs_chromium
def test_dossier_in_a_real_browser(scanned, tmp_path):
    _, out = scanned
    html = render_dossier(out, "html", tmp_path / "dossier.html")
    png = D.screenshot(html, tmp_path / "dossier.png", width=1200, height=3000)
    assert png.is_file() and png.stat().st_size > 10_000
    keep = Path(os.environ.get("DISTILLWATCH_TEST_ARTIFACTS") or REPO / "test-artifacts")
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, keep / "dossier.png")
    pdf = render_dossier(out, "pdf", tmp_path / "dossier.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


def test_report_sentences_for_one_campaign_lone_creation_and_an_unscored_zone(tmp_path):
    """One campaign: the lead line does not say it twice. Members created days apart: no "1 of N
    created within 72 hours" wave. A zone inferred but scored 0: the score is explained."""
    d = _results_dir(tmp_path / "res", n_big=3)
    data = json.loads((d / "campaigns.json").read_text())
    c1 = data["campaigns"][0]
    c1["signals"]["campaign.operator_timezone"] = {"value": 0.0, "score": 0.0, "family": "behaviour"}
    data["campaigns"] = [c1]
    (d / "campaigns.json").write_text(json.dumps(data))
    meta = pd.read_parquet(d / "account_meta.parquet")
    meta["created_at"] = pd.to_datetime(["2025-01-01", "2025-03-01", "2025-06-01", "2025-09-01", "2025-12-01",
                                         "2026-02-01"], utc=True)
    meta.to_parquet(d / "account_meta.parquet")
    for fmt in ("md", "html"):
        text = " ".join(render_dossier(d, fmt, tmp_path / f"r.{fmt}").read_text().split())
        assert "in all. One campaign was found" not in text and "1 campaign: 3 accounts" in text
        assert "member accounts were created within" not in text
        assert "No two member accounts with a known creation time were created within 72 hours of each other" in text
        assert "a zone the members' own countries explain scores 0" in text


def test_evidence_files_store_example_prompts_redacted(tmp_path):
    """Found by a new-user trial: campaign_examples.parquet kept the prompts verbatim (e-mail, phone,
    password, API key) although a results folder is what goes to a partner or an auditor. Every
    campaign member's user message gets the same PII appended; the stored examples must hold none of it."""
    if not (SHARED / "prompts").is_dir() or not (SHARED / "ip").is_dir():
        pytest.skip("needs ../shared/data (prompts and ip)")
    from distillwatch.pipeline import scan
    from distillwatch.simulate import simulate

    data, out = tmp_path / "data", tmp_path / "out"
    simulate(data, seed=3, scale=0.05)
    attack = {r["account_id"] for r in csv.DictReader(open(data / "truth.csv")) if r["label"] == "attack"}
    pii = " Reach me at jane.doe@example.com or +1 415-555-0132; my password is Secret123! key sk-proj-AbCdEf1234567890XYZabcdef"
    lines = []
    for line in (data / "requests.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["account_id"] in attack and r.get("messages"):
            last_user = max(i for i, m in enumerate(r["messages"]) if m["role"] == "user")
            if isinstance(r["messages"][last_user]["content"], str):
                r["messages"][last_user]["content"] += pii
        lines.append(json.dumps(r))
    (data / "requests.jsonl").write_text("\n".join(lines) + "\n")
    scan(data / "requests.jsonl", out=out, accounts=data / "accounts.jsonl", releases=data / "releases.jsonl")
    ex = pd.read_parquet(out / "campaign_examples.parquet")
    assert len(ex) and ex["user_text"].str.contains("[EMAIL]", regex=False).any()
    stored = " ".join(ex["user_text"]) + " ".join(pd.read_parquet(out / "campaign_artifacts.parquet")["detail"].dropna())
    for secret in ("jane.doe@example.com", "415-555-0132", "Secret123!", "sk-proj-AbCdEf"):
        assert secret not in stored, secret
