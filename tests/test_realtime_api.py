"""The real-time service's HTTP contract: authentication, 422 errors naming the field, decisions,
account state and metrics (in-process through Starlette's TestClient)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from distillwatch.realtime.app import ServiceConfig, create_app  # noqa: E402
from helpers import req, write_jsonl  # noqa: E402

TOKEN = "s3cret-token"
H = {"Authorization": f"Bearer {TOKEN}"}


def _client(tmp_path, **kw):
    cfg = ServiceConfig(state_dir=tmp_path / "state", token=TOKEN, relink_every_s=0, relink_every_events=0, **kw)
    return TestClient(create_app(cfg))


def test_missing_or_wrong_token_is_401_and_healthz_is_open(tmp_path):
    with _client(tmp_path) as c:
        body = req("r1")
        assert c.post("/v1/decide", json=body).status_code == 401
        assert c.post("/v1/decide", json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post("/v1/decide", json=body, headers={"Authorization": TOKEN}).status_code == 401
        assert c.get("/v1/accounts/acct_a").status_code == 401
        assert c.get("/metrics").status_code == 401
        r = c.post("/v1/decide", json=body, headers={"Authorization": "Bearer nope"})
        assert r.headers["www-authenticate"] == "Bearer"
        assert c.get("/healthz").status_code == 200
        assert c.post("/v1/decide", json=body, headers=H).status_code == 200


def test_auth_is_on_by_default(tmp_path):
    with pytest.raises(ValueError, match="DISTILLWATCH_TOKEN"):
        create_app(ServiceConfig(state_dir=tmp_path / "s"))


@pytest.mark.parametrize("change, field", [
    ({"timestamp": "yesterday"}, ["body", "timestamp"]),
    ({"timestamp": 1_700_000_000}, ["body", "timestamp"]),          # epoch seconds: out of range
    ({"client_ip": "10.0.0.1:443"}, ["body", "client_ip"]),
    ({"max_tokens": "200"}, ["body", "max_tokens"]),
    ({"status": "200"}, ["body", "status"]),
    ({"messages": []}, ["body", "messages"]),
    ({"messages": [{"role": "robot", "content": "hi"}]}, ["body", "messages", 0, "role"]),
    ({"account_id": None}, ["body", "account_id"]),
    ({"messages_digest": "abc"}, ["body", "messages_digest"]),
])
def test_malformed_body_is_422_naming_the_field(tmp_path, change, field):
    body = req("r1")
    body.update(change)
    with _client(tmp_path) as c:
        r = c.post("/v1/decide", json=body, headers=H)
        assert r.status_code == 422
        assert field in [e["loc"] for e in r.json()["detail"]]


def test_missing_required_field_and_missing_content_are_422(tmp_path):
    with _client(tmp_path) as c:
        body = req("r1")
        del body["model"]
        r = c.post("/v1/decide", json=body, headers=H)
        assert r.status_code == 422 and ["body", "model"] in [e["loc"] for e in r.json()["detail"]]
        body = req("r2")
        del body["messages"]
        r = c.post("/v1/decide", json=body, headers=H)
        assert r.status_code == 422 and "messages, prompt or messages_digest" in r.text
        r = c.post("/v1/decide", content=b"{not json", headers={**H, "content-type": "application/json"})
        assert r.status_code == 422


def test_batch_422_names_the_event_index_and_stores_nothing(tmp_path):
    with _client(tmp_path) as c:
        events = [req("r1"), req("r2", client_ip="999.1.1.1"), req("r3")]
        r = c.post("/v1/events", json={"events": events}, headers=H)
        assert r.status_code == 422
        assert ["body", "events", 1, "client_ip"] in [e["loc"] for e in r.json()["detail"]]
        assert c.get("/v1/accounts/acct_a", headers=H).status_code == 404


def test_events_are_counted_once_and_account_state_is_served(tmp_path):
    with _client(tmp_path) as c:
        events = [req(f"r{i}", "Solve 2 + 2 step by step, show your reasoning", account="acct_a",
                      ts=f"2026-03-02T10:{i:02d}:00Z") for i in range(12)]
        events.append(req("b1", account="acct_b"))
        r = c.post("/v1/events", json={"events": events}, headers=H)
        assert r.status_code == 200 and r.json()["accepted"] == 13 and r.json()["duplicates"] == 0
        r = c.post("/v1/events", json={"events": events[:3]}, headers=H)      # retried: not counted twice
        assert r.json() == {**r.json(), "accepted": 0, "duplicates": 3}
        v = c.get("/v1/accounts/acct_a", headers=H).json()
        assert v["requests"] == 12 and v["counters"]["cot"] == 12
        assert v["requests_in_window"] == 12                                 # all within one hour
        # 12 of 12 requests elicit reasoning: account.cot_harvest ramps 20 % -> 60 %, so it scores 1
        assert {"signal_id": "account.cot_harvest", "family": "content", "score": 1.0, "weight": 1.0} \
            in v["streaming"]["signals"]
        assert c.get("/v1/accounts/acct_b", headers=H).json()["requests"] == 1
        assert c.get("/v1/accounts/nobody", headers=H).status_code == 404
        m = c.get("/metrics", headers=H).text
        assert "distillwatch_events_stored 13.0" in m
        assert 'distillwatch_decisions_total{decision="allow"} 16.0' in m   # 13 + 3 repeated
        assert "distillwatch_duplicate_events_total 3.0" in m


def test_decide_applies_policy_and_rate_window(tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nrules:\n  - name: no-frontier-for-listed\n    models: [aurora-3]\n"
                   "    entities: [org-listed]\n    action: block\n")
    acc = write_jsonl(tmp_path / "accounts.jsonl", [
        {"account_id": "acct_l", "org_id": "org-listed", "billing_country": "DE", "verification": "none"},
        {"account_id": "acct_ok", "org_id": "org-fine", "billing_country": "DE", "verification": "none"}])
    with _client(tmp_path, policy=pol, accounts=acc, max_per_window=2) as c:
        d = c.post("/v1/decide", json=req("a1", account="acct_l", model="aurora-3"), headers=H).json()
        assert d == {"decision": "block", "risk": 0.0, "reasons": ["policy.block:no-frontier-for-listed"],
                     "campaign_id": ""}
        d = c.post("/v1/decide", json=req("a2", account="acct_l", model="aurora-2"), headers=H).json()
        assert d["decision"] == "allow"
        d = c.post("/v1/decide", json=req("o1", account="acct_ok", model="aurora-3"), headers=H).json()
        assert d["decision"] == "allow"
        for i, want in ((2, "allow"), (3, "throttle")):     # 3rd request within the hour > max_per_window=2
            d = c.post("/v1/decide", json=req(f"o{i}", account="acct_ok", ts=f"2026-03-02T10:0{i}:00Z"),
                       headers=H).json()
            assert d["decision"] == want
        assert d["reasons"] == ["realtime.rate_window"]


def test_digest_only_request_is_accepted_and_stored_without_text(tmp_path):
    with _client(tmp_path) as c:
        body = req("d1", text=None)
        del body["messages"]
        body["messages_digest"] = "ab" * 32
        assert c.post("/v1/decide", json=body, headers=H).json()["decision"] == "allow"
        v = c.get("/v1/accounts/acct_a", headers=H).json()
        assert v["requests"] == 1 and v["counters"]["content_requests"] == 0


def test_events_take_json_without_a_content_type_and_422s_never_echo_the_body(tmp_path):
    """curl -d sends no Content-Type: both endpoints read JSON anyway; a 422 names the field but
    never returns the offending input (it would put prompt text into clients' logs)."""
    import json

    secret = "my private prompt text 4111"
    good, bad = req("r1", secret), req("r2", secret)
    bad["messages"] = [{"role": "robot", "content": secret}]
    with _client(tmp_path) as c:
        hdr = {**H, "Content-Type": ""}
        r = c.post("/v1/events", content=json.dumps({"events": [good]}), headers=hdr)
        assert r.status_code == 200 and r.json()["accepted"] == 1
        for path, body in (("/v1/decide", bad), ("/v1/events", {"events": [bad]})):
            r = c.post(path, content=json.dumps(body), headers=hdr)
            assert r.status_code == 422
            assert secret not in r.text
            assert any("role" in e["loc"] for e in r.json()["detail"])


def test_a_second_process_on_the_same_state_and_a_garbage_database_are_refused(tmp_path):
    from typer.testing import CliRunner

    from distillwatch.cli import app
    from distillwatch.realtime.state import StateError, Store

    first = Store(tmp_path / "state")
    try:
        with pytest.raises(StateError, match="in use by another process"):
            Store(tmp_path / "state")
    finally:
        first.close()
    Store(tmp_path / "state").close()  # released on close
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "state.sqlite").write_bytes(b"this is not sqlite" * 100)
    res = CliRunner().invoke(app, ["serve", "--state", str(bad), "--token", "t"])
    assert res.exit_code == 2 and "not a usable distillwatch state database" in res.output
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = CliRunner().invoke(app, ["serve", "--state", str(afile), "--token", "t"])
    assert res.exit_code == 2 and "cannot use it as a folder" in res.output
    assert f"{afile} is a file, not a folder" in res.output.replace("\n", "")
