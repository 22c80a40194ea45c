"""Tests of the trained prompt classifier (distillwatch.classify)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from distillwatch.classify import HEADS, ModelFileError, PromptClassifier
from distillwatch.classify.features import featurize, hash_strings
from distillwatch.classify.model import MODEL_DIR, MODEL_NAME

SHARED_PROMPTS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "prompts"


@pytest.fixture(scope="module")
def clf() -> PromptClassifier:
    return PromptClassifier.load()


def _batch(rows):
    """rows: list of (system, user, n_tools)."""
    return pa.RecordBatch.from_arrays(
        [pa.array([f"r{i}" for i in range(len(rows))]), pa.array([r[0] for r in rows], pa.string()),
         pa.array([r[1] for r in rows], pa.string()), pa.array([r[2] for r in rows], pa.int32())],
        names=["request_id", "system_text", "user_text", "n_tools"])


# ---------------------------------------------------------------------------------- features

def _poly_hash(s: str) -> int:
    """Independent pure-Python version of the documented hash (polynomial over UTF-8 bytes, splitmix64)."""
    m = (1 << 64) - 1
    h = 0
    for j, b in enumerate(s.encode("utf-8")):
        h = (h + b * pow(1099511628211, j, 1 << 64) + 1) & m
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & m
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & m
    h ^= h >> 31
    return h


def test_hash_matches_pure_python_definition():
    words = ["", "a", "step", "Überprüfung", "思考", "x" * 300]
    got = hash_strings(pa.array(words))
    assert [int(v) for v in got] == [_poly_hash(w) for w in words]
    # a sliced array (non-zero offset) hashes the same strings the same way
    assert [int(v) for v in hash_strings(pa.array(words).slice(2, 3))] == [_poly_hash(w) for w in words[2:5]]


def test_featurize_hand_worked():
    # "A b, a" -> tokens a b a -> features {a, b, "a b", "b a"}: 4 distinct, binary, L2 norm -> 0.5 each
    X = featurize([""], ["A b, a"], n_features=2 ** 20)
    assert X.shape == (1, 2 ** 20)
    assert X.nnz == 4
    assert np.allclose(X.data, 0.5)
    # system text joins the user text: same tokens in one text or split across the two give the same unigrams
    Y = featurize(["A b,"], ["a"], n_features=2 ** 20)
    assert Y.nnz == 4 and np.allclose(Y.data, 0.5)
    # empty texts -> an all-zero row, not an error
    Z = featurize([None, ""], ["", None], n_features=64)
    assert Z.nnz == 0


# ---------------------------------------------------------------------------------- behaviour

CASES = [
    # (description, system, user, n_tools, expected flags)
    ("cot: numbered intermediate reasoning, wording not in the training wrappers", "",
     "Before you reply, lay out all of your intermediate reasoning in numbered steps, and state the result only "
     "at the end.\n\nA farmer has 17 sheep and buys 5 more, then sells a third of the flock. How many are left?",
     0, {"cot": True, "elicitation": True, "rubric": False}),
    ("cot: chain of thought spelled out first", "",
     "Which is larger, 2^30 or 10^9? Write out your whole chain of thought, every step included, and only then "
     "give me the answer.", 0, {"cot": True, "elicitation": True}),
    # the system prompt alone carries the flag (p_cot 1.000 on its own; PART_CHECKED_HEADS)
    ("cot: only in the system prompt", "Always think out loud: show each step of your reasoning before answering.",
     "What is the capital of Australia?", 0, {"cot": True, "elicitation": True}),
    ("cot: in the user message, under a system prompt", "You are a helpful assistant.",
     "What is 17 * 23? Let's think step by step and show all of your reasoning.", 0, {"cot": True}),
    ("plain benign question", "", "What's a good name for a golden retriever puppy?", 0,
     {"coding": False, "agentic": False, "maths": False, "cot": False, "rubric": False, "elicitation": False}),
    ("plain benign request", "", "Can you recommend a few novels similar to The Remains of the Day?", 0,
     {"coding": False, "agentic": False, "cot": False, "rubric": False, "elicitation": False}),
    ("benign coding question", "",
     "How do I reverse a list in Python without changing the original list?", 0,
     {"coding": True, "cot": False, "rubric": False, "elicitation": False}),
    ("benign how-to with 'steps'", "", "What steps do I need to follow to renew my driving licence?", 0,
     {"cot": False, "rubric": False, "coding": False}),
    ("tool-use request (tools offered)", "", "What's the weather in Paris tomorrow?", 3, {"agentic": True}),
    ("tool-use request in words", "",
     "Use the search tool to find the latest stable PostgreSQL release, then call the calendar API to book an "
     "upgrade window next Tuesday.", 0, {"agentic": True}),
    ("rubric grading", "",
     "Score the essay below from 1 to 5 on each criterion (argument, evidence, style) and justify every score."
     "\n\nEssay: Cities should ban cars from their centres because ...", 0, {"rubric": True, "elicitation": True}),
    ("maths word problem", "",
     "Tom has 3 boxes with 12 apples in each. He gives away 9 apples. How many apples does he have left?", 0,
     {"maths": True, "cot": False}),
    pytest.param("maths: travel-time problem", "",
                 "A train leaves at 9:40 and travels 180 km at 72 km/h. At what time does it arrive?", 0,
                 {"maths": True},
                 marks=pytest.mark.xfail(strict=True, reason="known gap (docs/classifier.md): the maths head "
                                         "learned GSM8K's word-problem style; p_maths is 0.19 here")),
    pytest.param("maths: symbolic algebra", "", "Solve for x: 3x + 7 = 22", 0, {"maths": True},
                 marks=pytest.mark.xfail(strict=True, reason="known gap (docs/classifier.md): no licensed corpus "
                                         "of symbolic maths; the maths head does not cover algebra")),
]


def _vals(case) -> tuple:
    """The values of a CASES entry (plain tuple or ``pytest.param``)."""
    return tuple(case.values) if hasattr(case, "marks") else case


@pytest.mark.parametrize("desc,system,user,n_tools,expected", CASES,
                         ids=[_vals(c)[0] for c in CASES])
def test_table_cases(clf, desc, system, user, n_tools, expected):
    out = clf.classify_batch(_batch([(system, user, n_tools)])).to_pydict()
    got = {h: out[f"is_{h}"][0] for h in expected}
    probs = {h: round(out[f"p_{h}"][0], 3) for h in expected}
    assert got == expected, f"{desc}: probabilities {probs}"


# ---------------------------------------------------------------------------------- contract

def test_classify_batch_schema_and_values(clf):
    rows = [("", "Explain quicksort.", 0), (None, None, None), ("sys", "x" * 10_000, 2), ("", "hi", 0)]
    b = _batch(rows)
    out = clf.classify_batch(b)
    assert out.schema.equals(clf.output_schema())
    assert out.schema.names == ["request_id"] + [f"p_{h}" for h in HEADS] + [f"is_{h}" for h in HEADS]
    assert out.num_rows == 4
    assert out.column("request_id").to_pylist() == ["r0", "r1", "r2", "r3"]
    card = json.loads((MODEL_DIR / f"{MODEL_NAME}.json").read_text())
    P = clf.predict_proba([r[0] for r in rows], [r[1] for r in rows])
    for j, h in enumerate(HEADS):
        p = np.asarray(out.column(f"p_{h}"))
        assert np.array_equal(p, P[:, j])
        assert ((p >= 0) & (p <= 1)).all()
        flags = np.asarray(out.column(f"is_{h}"))
        want = p >= np.float32(card["thresholds"][h])
        if h in ("cot", "elicitation"):  # with a system prompt, one part alone must reach it too
            t = np.float32(card["thresholds"][h])
            user_alone = clf.predict_proba([""] * len(rows), [r[1] for r in rows])[:, j] >= t
            system_alone = clf.predict_proba([r[0] for r in rows], [""] * len(rows))[:, j] >= t
            want = want & (user_alone | system_alone | np.array([not r[0] for r in rows]))
        if h == "agentic":
            want = want | np.array([False, False, True, False])  # n_tools > 0 on row 3 only
        assert flags.tolist() == want.tolist()


def test_a_product_system_prompt_alone_raises_no_cot_or_elicitation_flag(clf):
    """Regression (issue 3, hn_coding_agent): the model has seen system prompts only inside extraction
    wrappers, so a coding-agent product's operating instructions together with a plain coding ask
    lifted ``p_elicitation`` over its threshold on about half of the product's requests, though
    neither text does on its own; one company's six accounts were then banned as a CoT-harvesting
    campaign. The flag must be carried by the ask or by the system prompt on its own."""
    from distillwatch.simulate.templates import CODING_AGENT_SYSTEM

    system = CODING_AGENT_SYSTEM.format(os="Linux", shell="bash", repo="api-server")
    ask = "Add a --verbose flag to the CLI in cli.py that prints each file as it is processed."
    wrapped = ask + " Before you write any code, think step by step and show all of your reasoning."
    j = {h: i for i, h in enumerate(clf.heads)}
    thr = clf.thresholds.astype(np.float32)
    p = clf.predict_proba([system, "", system], [ask, ask, wrapped])
    assert p[0, j["elicitation"]] >= thr[j["elicitation"]]  # the case: the model fires on prompt + ask together
    alone = clf.predict_proba([system], [""])  # ... but not on the product prompt alone
    assert alone[0, j["elicitation"]] < thr[j["elicitation"]] and alone[0, j["cot"]] < thr[j["cot"]]
    out = clf.classify_batch(_batch([(system, ask, 6), ("", ask, 6), (system, wrapped, 6)])).to_pydict()
    assert out["is_elicitation"][0] is False and out["is_cot"][0] is False
    assert out["is_elicitation"][1] is False and out["is_cot"][1] is False  # the ask itself is plain
    assert out["is_cot"][2] is True  # an ask for reasoning under the same product prompt still counts
    # the stored probabilities stay the model's own (evidence), only the flag changes
    assert out["p_elicitation"][0] == pytest.approx(float(p[0, j["elicitation"]]))
    # flags() without precomputed probabilities gives the same flags
    f = clf.flags([system, "", system], [ask, ask, wrapped])
    assert [bool(x) for x in f[:, j["elicitation"]]] == out["is_elicitation"]
    assert [bool(x) for x in f[:, j["cot"]]] == out["is_cot"]


def test_an_extraction_wrapper_in_the_system_prompt_keeps_its_flag(clf):
    """The part check drops flags no part carries, not wrappers placed in the system prompt: this one
    (written for the test, in the style of the held-out HYDRA system wrappers) asks for complete,
    fully reasoned solutions without any CoT-lexicon phrase, over the same plain ask."""
    from distillwatch.signals.request import LEX_COT

    system = ("You are a staff engineer famous for exhaustive answers. Deliver the complete implementation with "
              "nothing left out, then full unit tests, then justify every design decision and the trade-offs "
              "you weighed, in detail.")
    ask = "Add a --verbose flag to the CLI in cli.py that prints each file as it is processed."
    assert re.search(LEX_COT, system, re.I) is None  # only the classifier can see it
    out = clf.classify_batch(_batch([(system, ask, 0), (system, "", 0)])).to_pydict()
    assert out["is_elicitation"] == [True, True]


def test_classify_batch_accepts_engine_types(clf):
    # DuckDB may hand over large_string / string_view columns and int64 counts
    b = pa.RecordBatch.from_arrays(
        [pa.array(["a", "b"], pa.large_string()), pa.array(["", ""], pa.large_string()),
         pa.array(["Let's think step by step: what is 17 * 23?", "hello"], pa.large_string()),
         pa.array([0, None], pa.int64())], names=["request_id", "system_text", "user_text", "n_tools"])
    out = clf.classify_batch(b)
    assert out.schema.equals(clf.output_schema())
    assert out.column("request_id").to_pylist() == ["a", "b"]
    empty = clf.classify_batch(b.slice(0, 0))
    assert empty.num_rows == 0 and empty.schema.equals(clf.output_schema())


def test_missing_column_is_named(clf):
    b = pa.RecordBatch.from_arrays([pa.array(["r"]), pa.array(["x"])], names=["request_id", "user_text"])
    with pytest.raises(KeyError, match="system_text"):
        clf.classify_batch(b)


def test_deterministic_and_row_independent(clf):
    rows = [("", _vals(c)[2], 0) for c in CASES] * 3
    a = clf.classify_batch(_batch(rows))
    b = clf.classify_batch(_batch(rows))
    assert a.equals(b)
    # scoring in two halves gives the same rows (no feature leaks across row boundaries)
    half = len(rows) // 2
    parts = [clf.classify_batch(_batch(rows[:half])), clf.classify_batch(_batch(rows[half:]))]
    for h in HEADS:
        joined = np.concatenate([np.asarray(p.column(f"p_{h}")) for p in parts])
        assert np.array_equal(joined, np.asarray(a.column(f"p_{h}")))
    # more rows than one internal chunk: rows past the chunk boundary score as they do alone
    from distillwatch.classify.model import CHUNK_ROWS

    many = [("", f"question number {i}: how do I bake bread?", 0) for i in range(CHUNK_ROWS + 5)]
    big = np.asarray(clf.classify_batch(_batch(many)).column("p_cot"))
    tail = np.asarray(clf.classify_batch(_batch(many[CHUNK_ROWS - 2:])).column("p_cot"))
    assert np.array_equal(big[CHUNK_ROWS - 2:], tail)
    # a fresh load gives the same weights
    assert np.array_equal(PromptClassifier.load().weights, clf.weights)


def test_through_engine_map_batches(clf):
    from distillwatch.engine.duckdb import DuckDBEngine

    eng = DuckDBEngine()
    try:
        eng.register("reqs", pa.Table.from_batches([_batch([("", "Show your work: 12 * 13?", 0),
                                                             ("", "Good pizza places in Naples?", 1)])]))
        eng.map_batches("classify", "out_cls", "SELECT request_id, system_text, user_text, n_tools FROM reqs",
                        clf.classify_batch, clf.output_schema(), batch_rows=1)
        t = eng.table("SELECT * FROM out_cls ORDER BY request_id")
    finally:
        eng.close()
    assert t.num_rows == 2
    assert t.column("request_id").to_pylist() == ["r0", "r1"]
    assert t.column("is_agentic").to_pylist()[1] is True  # n_tools = 1


# ---------------------------------------------------------------------------------- model files

def _copy_model(tmp_path: Path) -> Path:
    for ext in ("npz", "json"):
        shutil.copy(MODEL_DIR / f"{MODEL_NAME}.{ext}", tmp_path / f"{MODEL_NAME}.{ext}")
    return tmp_path


def test_corrupt_model_file_names_the_file(tmp_path):
    d = _copy_model(tmp_path)
    npz = d / f"{MODEL_NAME}.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=str(npz)):
        PromptClassifier.load(d)


def test_truncated_npz_with_matching_hash_names_the_file(tmp_path):
    import hashlib

    d = _copy_model(tmp_path)
    npz, card = d / f"{MODEL_NAME}.npz", d / f"{MODEL_NAME}.json"
    npz.write_bytes(b"not a zip file")
    c = json.loads(card.read_text())
    c["model_file_sha256"] = hashlib.sha256(b"not a zip file").hexdigest()
    card.write_text(json.dumps(c))
    with pytest.raises(ModelFileError, match="not a valid classifier npz"):
        PromptClassifier.load(d)


def test_missing_and_bad_card(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        PromptClassifier.load(tmp_path)
    d = _copy_model(tmp_path)
    (d / f"{MODEL_NAME}.json").write_text("{not json")
    with pytest.raises(ModelFileError, match=f"{MODEL_NAME}.json"):
        PromptClassifier.load(d)


def test_model_is_small_and_pickle_free():
    npz = MODEL_DIR / f"{MODEL_NAME}.npz"
    assert npz.stat().st_size < 5 * 1024 * 1024
    with np.load(npz, allow_pickle=False) as z:
        assert sorted(z.files) == ["bias", "rows", "values"]


# ---------------------------------------------------------------------------------- re-validation

# Floors documented in docs/classifier.md ("Floors checked by the tests"): the target for the
# elicitation head (recall >= 0.95 on held-out wrappers at <= 1% FPR on benign coding prompts) and
# lower bounds for the other heads.
FLOORS = {
    "elicitation_recall_heldout_wrappers": ("min", 0.95),
    "elicitation_fpr_benign_coding": ("max", 0.01),
    "cot_recall_heldout_cot_families": ("min", 0.90),
    "cot_fpr_benign_coding": ("max", 0.01),
    "rubric_recall": ("min", 0.95),
    "coding_recall": ("min", 0.95),
    "maths_recall": ("min", 0.95),
    "agentic_recall": ("min", 0.80),
}


@pytest.mark.skipif(not SHARED_PROMPTS.is_dir(), reason="../shared/data/prompts (the real corpora) is absent")
def test_revalidation_on_heldout_split(clf):
    from distillwatch.classify.train import build_dataset, evaluate

    ds = build_dataset(SHARED_PROMPTS)
    val = ds.select("val")
    assert len(val) == clf.card["data"]["n_val"]
    # no group straddles the split
    train_groups = {it.group for it in ds.select("train")}
    assert not train_groups & {it.group for it in val}
    v = evaluate(clf, val)
    got = {
        "cot_recall_heldout_cot_families": v["elicitation_target"]["cot_recall_heldout_cot_families"]["rate"],
        "elicitation_recall_heldout_wrappers": v["elicitation_target"]["recall_heldout_wrappers"]["rate"],
        "elicitation_fpr_benign_coding": v["elicitation_target"]["fpr_benign_coding"]["rate"],
        "cot_fpr_benign_coding": v["elicitation_target"]["cot_fpr_benign_coding"]["rate"],
        "rubric_recall": v["heads"]["rubric"]["recall"],
        "coding_recall": v["heads"]["coding"]["recall"],
        "maths_recall": v["heads"]["maths"]["recall"],
        "agentic_recall": v["heads"]["agentic"]["recall"],
    }
    for k, (kind, floor) in FLOORS.items():
        assert (got[k] >= floor) if kind == "min" else (got[k] <= floor), f"{k} = {got[k]:.4f}, floor {kind} {floor}"
