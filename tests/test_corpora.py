"""Tests of the prompt-corpus loader (shared bundle and the bfcl-eval fallback)."""

from __future__ import annotations

import importlib.util

import pytest

from distillwatch.corpora import KINDS, CorpusError, load_corpora, parse_hh_transcript
from distillwatch.corpora import loader as L


def _shared_or_skip():
    if L.default_prompts_dir() is None:
        pytest.skip("shared prompt bundle not found")


def test_shared_mode_kinds_and_sources():
    _shared_or_skip()
    c = load_corpora(max_per_kind=300, seed=1)
    assert c.mode == "shared"
    for k in KINDS:
        assert 0 < len(c.kind(k)) <= 300, k
    names = {s["name"] for s in c.sources}
    assert {"sharegpt", "hh_rlhf", "alpaca_eval", "gpteacher_codegen", "gpteacher_toolformer", "gsm8k"} <= names
    assert any(n.startswith("bfcl:multi_turn") for n in names)
    for s in c.sources:
        assert s["licence"] and s["path"] and s["rows"] > 0
    # benign chat holds real multi-turn conversations with roles in order
    multi = [p for p in c.benign_chat if len(p.user_turns) > 1]
    assert multi
    for p in c.benign_chat:
        roles = [m["role"] for m in p.messages if m["role"] != "system"]
        assert roles[0] == "user"
        assert all(a != b for a, b in zip(roles, roles[1:]))
    # agentic rows carry several user turns and tool schemas
    assert all(p.user_turns and p.tools for p in c.agentic_multiturn)
    assert sum(len(p.user_turns) >= 2 for p in c.agentic_multiturn) > 0.9 * len(c.agentic_multiturn)
    for t in c.agentic_multiturn[0].tools:
        assert set(t) == {"name", "description", "parameters"}
        assert t["parameters"].get("type") == "object"
    assert all(p.reference for p in c.maths)


def test_subsample_is_deterministic():
    _shared_or_skip()
    a = load_corpora(max_per_kind=50, seed=3)
    b = load_corpora(max_per_kind=50, seed=3)
    c = load_corpora(max_per_kind=50, seed=4)
    assert [p.text for p in a.coding] == [p.text for p in b.coding]
    assert [p.text for p in a.coding] != [p.text for p in c.coding]


def test_hh_transcript_parsing():
    text = "\n\nHuman: hi there\n\nAssistant: Hello! How can I help?\n\nHuman: tell me a joke\n\nAssistant: No."
    msgs = parse_hh_transcript(text)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[0]["content"] == "hi there" and msgs[3]["content"] == "No."


def test_files_found_gz_or_plain_and_moved(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "train.jsonl").write_text('{"question": "1+1?", "answer": "2\\n#### 2"}\n')
    c = load_corpora(tmp_path)  # only a moved, uncompressed GSM8K file
    assert c.mode == "shared" and len(c.maths) == 1 and c.maths[0].reference.endswith("#### 2")
    assert [s["name"] for s in c.sources if s["kind"] == "maths"] == ["gsm8k"]


needs_bfcl = pytest.mark.skipif(importlib.util.find_spec("bfcl_eval") is None, reason="bfcl-eval not installed")


@needs_bfcl
def test_fallback_to_bfcl_eval_when_shared_is_absent(monkeypatch, tmp_path):
    monkeypatch.setenv(L.ENV_VAR, str(tmp_path / "does-not-exist"))
    c = load_corpora()
    assert c.mode == "bfcl-eval"
    for k in ("benign_chat", "coding", "tool_use", "agentic_multiturn"):
        assert c.kind(k), k
    assert all(s.get("package", "").startswith("bfcl-eval") and s["licence"] == "Apache-2.0" for s in c.sources)
    assert all(p.tools is None for p in c.benign_chat)  # chat feel: the query without tools
    assert all(p.tools for p in c.agentic_multiturn)
    # every source is listed once under its own name (the demo printed bfcl:simple_python twice:
    # its coding rows and the maths-flavoured rows moved to maths)
    listed = [s["name"] for s in c.sources]
    assert len(listed) == len(set(listed)), sorted(n for n in listed if listed.count(n) > 1)
    assert "bfcl:simple_python (maths-flavoured questions)" in listed


@needs_bfcl
def test_simulator_copes_with_fallback_corpora(monkeypatch, tmp_path):
    import numpy as np

    from distillwatch.intel import load_intel
    from distillwatch.simulate import simulate

    intel = load_intel(None)
    try:
        intel.sample_ips("residential", 1, np.random.default_rng(0))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"IP intelligence unavailable: {exc}")
    monkeypatch.setenv(L.ENV_VAR, str(tmp_path / "missing"))
    c = load_corpora(max_per_kind=400)
    c.maths = []  # the simulator must cope without a maths corpus
    s = simulate(tmp_path / "out", seed=1, scale=0.03, intel=intel, corpora=c)
    assert s.corpora_mode == "bfcl-eval"
    assert all(v["requests"] > 0 for v in s.archetypes.values())


def test_missing_everything_raises(monkeypatch, tmp_path):
    monkeypatch.setenv(L.ENV_VAR, str(tmp_path / "nothing-here"))
    monkeypatch.setattr(L, "bfcl_eval_data_dir", lambda: None)
    with pytest.raises(CorpusError, match="bfcl-eval"):
        load_corpora()
