"""Train, validate and write the prompt classifier from the real corpora in ``../shared/data/prompts``.

Usage::

    python -m distillwatch.classify.train --prompts ../shared/data/prompts \\
        --out src/distillwatch/classify/model --doc docs/classifier.md

Data (read through ``distillwatch.corpora.loader``; licences from ``shared/data/README.md``):

* distillation corpora (extraction positives): GPTeacher codegen (MIT, ``coding``), GPTeacher
  toolformer (MIT, ``agentic``), GSM8K train (MIT, ``maths``), BFCL v4 (Apache-2.0,
  ``agentic``). Alpaca seed tasks (CC BY-NC 4.0) are read for validation only.
* benign real users: HH-RLHF harmless test (MIT) and AlpacaEval (Apache-2.0) for training and
  validation; ShareGPT V3 (no licence stated) for validation only.
* chain-of-thought and rubric wrappers: no public corpus exists, so the positives are real
  prompts wrapped in THE PROJECT'S OWN templates (``simulate.wrappers`` plus the training-only
  ``COT_EXTRA`` / ``RUBRIC_EXTRA`` below). Training sees a subset of templates and slot
  paraphrases; validation uses held-out templates, held-out paraphrases and the whole
  ``CAREFUL`` family.

Split: every item belongs to a group (its source item: corpus + row id, or the conversation);
a group is in validation when ``sha256(group) mod 5 == 0``; wrapped items inherit the group of
the real prompt they wrap, so no text straddles the split. Heads are L2-regularised logistic
regressions (scikit-learn, liblinear, fixed ``random_state``); thresholds come from 3-fold
group cross-validation on the training split only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from distillwatch.classify.features import HASH_VERSION, SCAN_CHARS, TOKEN_PATTERN, featurize
from distillwatch.classify.model import HEADS, MODEL_NAME, PromptClassifier
from distillwatch.simulate import wrappers as W
from distillwatch.simulate.wrappers import WrapperFamily

N_FEATURES = 2 ** 18
"""Hash buckets."""
C_REG = 4.0
"""Inverse L2 regularisation strength of every head (scikit-learn ``C``); the project's choice, not tuned on validation."""
SEED = 20261129
"""Seed of every sample, wrapper rendering and solver in training (the date the model was first built)."""
VAL_MOD = 5
"""A group is in validation when ``sha256(group) % VAL_MOD == 0`` (about 20%)."""
TARGET_FPR = 0.01
"""Training-side false-positive rate each head's threshold is set to (out-of-fold)."""
BENIGN_FPR = 0.005
"""Extra bound for every head: out-of-fold FPR on the training benign (real-user) negatives."""
HARD_NEGATIVE_WEIGHT = 3.0
"""Sample weight of benign hard negatives (code-related or reasoning-word prompts)."""
CAPS = {"gpteacher_toolformer": 3000, "gsm8k": 3000}
"""Most raw prompts taken from a large corpus (a seeded sample), to keep classes in proportion."""

CODE_RULE = re.compile(
    r"```|\b(python|javascript|typescript|java|c\+\+|c#|golang|php|ruby|perl|kotlin|swift|scala|matlab|"
    r"sql|html|css|json|yaml|regex|bash|powershell|react|node\.?js|django|flask|pandas|numpy|"
    r"api|sdk|compiler?|compiled|debug(ging)?|stack ?trace|exception|syntax error|source code|code|coding|"
    r"programming|programmer|script|algorithm|github|docker|kubernetes|database|"
    r"def|import|console\.log|function\(|class [A-Z]\w*)\b|\b\w+\(\)", re.IGNORECASE)
"""Selection rule for "benign coding prompts": a real user's prompt that matches this pattern is about code.

Written for this project (a keyword list, not taken from a paper); deliberately broad, so that
the benign-coding set the issue's target is measured on includes borderline items."""
MATHS_RULE = re.compile(r"\b(calculate|compute|solve|equation|how many|how much|percent|sum of|average|"
                        r"probability|integral|derivative)\b|\d+ ?[-+*/x×] ?\d+", re.IGNORECASE)
"""Benign prompts matching this are ignored by the ``maths`` head (a capability, not an intent)."""
COT_LOOKALIKE_RULE = re.compile(r"step[- ]by[- ]step|\bsteps?\b|\breason|\bthink|\bexplain|\blogic|\bshow\b|"
                                r"\bwork(ing)? (it )?out|\bgrade|\bscore|\brate\b|\brating|\bcriteri|\brubric",
                                re.IGNORECASE)
"""Benign prompts matching this are "reasoning-word hard negatives" (weighted and reported separately)."""

# ---------------------------------------------------------------------------------
# the project's own training-only wrappers and hard negatives
# ---------------------------------------------------------------------------------
COT_EXTRA = WrapperFamily(
    name="cot_extra",
    templates=(
        "{content}\n\nWork through this slowly and write down every reasoning step you take before you commit to an answer.",
        "Think aloud while solving the following. I want your complete internal reasoning, not just the result.\n\n{content}",
        "{content}\n\nPlease provide a detailed chain of reasoning that leads to your answer, with each step numbered.",
        "Before responding, reason about the problem in detail and include that reasoning in your reply.\n\n{content}",
        "{content}\n\nLet's think about this step by step.",
        "{content}\nShow your work.",
        "Answer the question below. First write 'Reasoning:' followed by your complete thought process, then "
        "'Answer:' followed by the answer.\n\n{content}",
        "{content}\n\nDon't just give me the answer - explain the logic behind every step you take to reach it.",
        "Describe your thought process in full as you solve this, including any assumptions and checks.\n\n{content}",
        "{content}\n\nWrap your reasoning in <reasoning></reasoning> tags and your final answer in <answer></answer> tags.",
        "You must reveal your reasoning. Go through the problem one step at a time and justify each step.\n\n{content}",
        "{content}\n\nExplain how you arrived at the answer, detailing all the intermediate steps.",
    ),
)
"""Training-only chain-of-thought wrappers (the project's own text)."""

ELICIT_EXTRA = WrapperFamily(
    name="elicit_extra",
    templates=(
        "{content}\n\nGive me the complete program with nothing omitted, followed by a detailed explanation of every part.",
        "Provide an exhaustive answer to the following: full working solution first, then an in-depth explanation of "
        "each decision.\n\n{content}",
        "{content}\n\nI want a model answer: complete, rigorous, with the full derivation or implementation and a "
        "justification for every step.",
        "Write the definitive, fully worked answer to this task. Do not leave anything out.\n\n{content}",
        "{content}\n\nAnswer with the full solution and a thorough walkthrough of why it is correct, section by section.",
        "Produce a gold-standard reference answer for the task below, including the complete working.\n\n{content}",
        "{content}\n\nPlease respond with a long, detailed answer: explain the approach, show the complete result, "
        "and discuss alternatives.",
        "For the following, first analyse the problem, then give the complete answer, then verify it.\n\n{content}",
    ),
)
"""Training-only wrappers asking for exhaustive, fully worked answers (the project's own text)."""

RUBRIC_EXTRA = WrapperFamily(
    name="rubric_extra",
    templates=(
        "Grade the answer below on a scale of 1 to 10 for accuracy and clarity, and justify the grade.\n\n"
        "Question: {question}\nAnswer: {response}",
        "You are judging model outputs. Assess the following response against these criteria:\n{rubric}\n"
        "Give each criterion a score and explain.\n\nInstruction: {question}\n\nOutput: {response}",
        "Compare the response to an ideal answer and assign a score out of 10 with reasons for each deduction.\n\n"
        "Prompt:\n{question}\n\nResponse:\n{response}",
        "Evaluate this answer. Criteria:\n{rubric}\nReturn a JSON object with a score and a rationale for each "
        "criterion.\n\nQ: {question}\nA: {response}",
    ),
)
"""Training-only rubric-grading wrappers (the project's own text)."""

HARD_NEGATIVES: tuple[str, ...] = (
    "What are the step-by-step instructions for changing a flat tyre?",
    "Can you give me a step by step recipe for banana bread?",
    "How do I reset my router? Please list the steps.",
    "I think my cat is sick, what should I do?",
    "What is the reason the sky is blue?",
    "Explain how vaccines work in simple terms.",
    "My daughter got a grade of C in maths, how can I help her improve?",
    "What was the final score of the 2018 World Cup final?",
    "How do credit scores work?",
    "Rate these three holiday destinations for a family with young kids: Lisbon, Rome, Barcelona.",
    "What's a good way to think about saving for retirement?",
    "Walk me through how to file my taxes online.",
    "Give me a step-by-step plan to learn Spanish in six months.",
    "What is the step-by-step process to apply for a UK passport?",
    "How do judges decide sentences in criminal cases?",
    "Can you explain what a rubric is for teachers?",
    "My code throws a NullPointerException, what does that usually mean?",
    "What's the difference between Python and JavaScript?",
    "How long does it take to learn to code?",
    "Is it worth learning SQL for a marketing job?",
    "Break down the steps of photosynthesis.",
    "What steps should I take after a car accident?",
    "How do I teach my kid to think critically?",
    "Why do people say 'let's take it step by step' in meetings?",
    "What criteria should I use to choose a good laptop?",
    "How are Olympic gymnastics routines scored?",
)
"""Training-only benign hard negatives (the project's own text): ordinary questions using reasoning,
grading or code words."""


def _subset(f: WrapperFamily, name: str, templates: Sequence[int], slots: dict[str, Sequence[int]]) -> WrapperFamily:
    return WrapperFamily(name=name, templates=tuple(f.templates[i] for i in templates),
                         slots={k: tuple(v[i] for i in slots.get(k, range(len(v)))) for k, v in f.slots.items()})


# training subsets / held-out subsets of the simulator's wrappers
COT_TRAIN = _subset(W.COT, "cot_train", (0, 2, 5), {"show_all": (0, 1), "final": (0, 1, 3), "enumerate": (0, 1)})
COT_HELD = _subset(W.COT, "cot_heldout", (1, 3, 4), {"show_all": (2, 3), "final": (2, 3), "enumerate": (2,)})
RUBRIC_TRAIN = _subset(W.RUBRIC, "rubric_train", (0, 2), {"scale": (0, 1, 2), "grade_how": (0, 1)})
RUBRIC_HELD = _subset(W.RUBRIC, "rubric_heldout", (1, 3), {"scale": (3, 4), "grade_how": (2,)})
CAREFUL_COT = _subset(W.CAREFUL, "careful_cot", (0, 1, 2), {})
CAREFUL_CODE = _subset(W.CAREFUL, "careful_code", (3, 4), {})
HYDRA_TASK_TRAIN = _subset(W.HYDRA_TASK, "hydra_task_train", (0, 1, 2, 3), {})
HYDRA_TASK_HELD = _subset(W.HYDRA_TASK, "hydra_task_heldout", (4,), {})
HYDRA_SYSTEM_TRAIN = _subset(W.HYDRA_SYSTEM, "hydra_system_train", (0, 1), {})
HYDRA_SYSTEM_HELD = _subset(W.HYDRA_SYSTEM, "hydra_system_heldout", (2,), {})
HYDRA_AGENT_TRAIN = _subset(W.HYDRA_AGENT, "hydra_agent_train", (0, 1), {})
HYDRA_AGENT_HELD = _subset(W.HYDRA_AGENT, "hydra_agent_heldout", (2,), {})
DATAGEN_TRAIN = _subset(W.DATAGEN, "datagen_train", (0, 1), {})
DATAGEN_HELD = _subset(W.DATAGEN, "datagen_heldout", (2,), {})

# family -> (where the family's text goes, content pool, cot label, rubric label, count train, count val)
_PLAN = {
    # name: (family, placement, pool, cot, rubric, split)
    "cot_train": (COT_TRAIN, "user", "any", 1, 0, "train", 3000),
    "cot_extra": (COT_EXTRA, "user", "any", 1, 0, "train", 2400),
    "datagen_train": (DATAGEN_TRAIN, "user", "any", 1, 0, "train", 800),
    "elicit_extra": (ELICIT_EXTRA, "user", "any", -1, 0, "train", 1200),
    "rubric_train": (RUBRIC_TRAIN, "rubric", "pairs", -1, 1, "train", 1500),
    "rubric_extra": (RUBRIC_EXTRA, "rubric", "pairs", -1, 1, "train", 600),
    "hydra_task_train": (HYDRA_TASK_TRAIN, "user", "coding", -1, 0, "train", 700),
    "hydra_system_train": (HYDRA_SYSTEM_TRAIN, "system", "coding", -1, 0, "train", 700),
    "hydra_agent_train": (HYDRA_AGENT_TRAIN, "system", "agentic", -1, 0, "train", 700),
    # validation: the same training families on validation contents ("seen templates")
    "cot_train@val": (COT_TRAIN, "user", "any", 1, 0, "val", 400),
    "rubric_train@val": (RUBRIC_TRAIN, "rubric", "pairs", -1, 1, "val", 300),
    # validation: held-out templates / paraphrases / families
    "cot_heldout": (COT_HELD, "user", "any", 1, 0, "val", 800),
    "careful_cot": (CAREFUL_COT, "user", "any", 1, 0, "val", 800),
    "careful_code": (CAREFUL_CODE, "user", "any", -1, 0, "val", 400),
    "datagen_heldout": (DATAGEN_HELD, "user", "any", 1, 0, "val", 400),
    "rubric_heldout": (RUBRIC_HELD, "rubric", "pairs", -1, 1, "val", 800),
    "hydra_task_heldout": (HYDRA_TASK_HELD, "user", "coding", -1, 0, "val", 300),
    "hydra_system_heldout": (HYDRA_SYSTEM_HELD, "system", "coding", -1, 0, "val", 300),
    "hydra_agent_heldout": (HYDRA_AGENT_HELD, "system", "agentic", -1, 0, "val", 300),
}
HELDOUT_FAMILIES = ("cot_heldout", "careful_cot", "careful_code", "datagen_heldout", "rubric_heldout",
                    "hydra_task_heldout", "hydra_system_heldout", "hydra_agent_heldout")
DISTILL_SOURCES = ("gpteacher_codegen", "gpteacher_toolformer", "gsm8k", "bfcl")
BENIGN_TRAIN_SOURCES = ("hh_rlhf", "alpaca_eval")
VALIDATION_ONLY_SOURCES = {"sharegpt": "no licence stated (tests only)",
                           "alpaca_seed": "CC BY-NC 4.0 data (tests only)"}


@dataclass
class Item:
    """One labelled request text.

    ``labels`` maps each head to 1 (positive), 0 (negative) or -1 (ignored by that head).
    ``source`` is the corpus of the real text (``bfcl:*`` collapsed to ``bfcl``); ``family`` is
    ``raw`` or the wrapper family's name; ``tags`` mark subsets the report breaks out.
    """

    system: str
    user: str
    group: str
    source: str
    family: str
    split: str
    labels: dict[str, int]
    weight: float = 1.0
    tags: set[str] = field(default_factory=set)
    response: str | None = None


@dataclass
class Dataset:
    """Items plus the description of every file read (path relative to the prompts folder, SHA-256, rows, licence)."""

    items: list[Item]
    files: list[dict]

    def select(self, split: str) -> list[Item]:
        """Items of one split (``train`` or ``val``)."""
        return [it for it in self.items if it.split == split]


def _split_of(group: str, source: str) -> str:
    if source in VALIDATION_ONLY_SOURCES:
        return "val"
    return "val" if int(hashlib.sha256(group.encode()).hexdigest(), 16) % VAL_MOD == 0 else "train"


def _labels(**kw: int) -> dict[str, int]:
    out = {h: 0 for h in HEADS}
    out.update(kw)
    return out


def _benign_labels(text: str) -> tuple[dict[str, int], set[str]]:
    tags = {"benign"}
    lab = _labels(extraction=0)
    if CODE_RULE.search(text):
        lab["coding"] = -1
        tags.add("benign_coding")
    if MATHS_RULE.search(text):
        lab["maths"] = -1
    if COT_LOOKALIKE_RULE.search(text):
        tags.add("reasoning_words")
    return lab, tags


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_alpaca_seeds(path: Path) -> list[tuple[str, str]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: line {i}: not JSON ({exc})") from exc
            ins = (row.get("instruction") or "").strip()
            inst = (row.get("instances") or [{}])[0].get("input") or ""
            if ins:
                out.append((str(row.get("id", i)), f"{ins}\n\n{inst}".strip()))
    return out


def build_dataset(prompts_dir: str | Path, seed: int = SEED) -> Dataset:
    """Build the labelled items (raw real prompts, wrapped prompts, hard negatives) with their split.

    Args:
        prompts_dir: the shared bundle's ``prompts`` folder (with ``benign/`` and ``distill/``).
        seed: seed of the corpus samples and wrapper renderings.

    Returns:
        ``Dataset``; deterministic for a given folder content and seed.

    Raises:
        distillwatch.corpora.loader.CorpusError: the folder holds no corpus.
        FileNotFoundError: a corpus the shipped model is trained on is missing (names the file).
    """
    from distillwatch.corpora.loader import load_corpora

    root = Path(prompts_dir)
    corp = load_corpora(root)
    if corp.mode != "shared":
        raise FileNotFoundError(f"{root}: not the shared prompts bundle (loader fell back to {corp.mode})")
    rng = np.random.default_rng(seed)
    items: list[Item] = []
    files = []
    for s in corp.sources:
        p = Path(s["path"]).resolve()
        rel = str(p.relative_to(root.resolve())) if p.is_relative_to(root.resolve()) else str(p)
        use = "validation only" if s["name"] in VALIDATION_ONLY_SOURCES else "training and validation"
        files.append({"path": rel, "sha256": _sha256(p) if p.is_file() else None, "rows": s["rows"],
                      "licence": s["licence"], "name": s["name"], "used_for": use})
    needed = {"gpteacher_codegen", "gpteacher_toolformer", "gsm8k", "hh_rlhf", "alpaca_eval"}
    missing = needed - {f["name"] for f in files}
    if missing:
        raise FileNotFoundError(f"{root}: corpus files for {sorted(missing)} not found (see shared/data/README.md)")

    def add_raw(prompts, source_of, labels_of, per_group_turns: int = 1):
        for p in prompts:
            src = source_of(p)
            group = f"{src}:{p.source}:{p.id}"
            sys_txt = next((m["content"] for m in p.messages if m["role"] == "system"), "")
            pairs = []  # (user turn, the real reply that follows it, if any)
            for i, m in enumerate(p.messages):
                if m["role"] == "user":
                    nxt = p.messages[i + 1]["content"] if i + 1 < len(p.messages) and \
                        p.messages[i + 1]["role"] == "assistant" else None
                    pairs.append((m["content"], nxt))
            if not pairs:
                pairs = [(p.text, None)]
            if len(pairs) == 1 and pairs[0][1] is None:
                pairs = [(pairs[0][0], p.reference)]
            for turn, reply in pairs[-per_group_turns:]:
                lab, tags = labels_of(p, turn)
                items.append(Item(sys_txt, turn, group, src, "raw", _split_of(group, src), lab, tags=tags | {"raw"},
                                  response=reply))

    def capped(prompts, name):
        cap = CAPS.get(name)
        if cap is None or len(prompts) <= cap:
            return prompts
        idx = np.sort(rng.choice(len(prompts), size=cap, replace=False))
        return [prompts[i] for i in idx]

    codegen = [p for p in corp.coding if p.source == "gpteacher_codegen"]
    toolformer = capped([p for p in corp.tool_use if p.source == "gpteacher_toolformer"], "gpteacher_toolformer")
    bfcl = [p for p in corp.tool_use + corp.agentic_multiturn if p.source.startswith("bfcl:")]
    gsm = capped(corp.maths, "gsm8k")
    add_raw(codegen, lambda p: "gpteacher_codegen", lambda p, t: (_labels(coding=1, extraction=1), {"distill"}))
    add_raw(toolformer, lambda p: "gpteacher_toolformer", lambda p, t: (_labels(agentic=1, extraction=1), {"distill"}))
    add_raw(gsm, lambda p: "gsm8k", lambda p, t: (_labels(maths=1, extraction=1), {"distill"}))

    def bfcl_labels(p, t):
        irrelevant = "irrelevance" in p.source
        return _labels(agentic=-1 if irrelevant else 1, coding=-1, maths=-1, extraction=1), {"distill"}

    add_raw(bfcl, lambda p: "bfcl", bfcl_labels, per_group_turns=3)

    def benign(p, t):
        return _benign_labels(t)

    for src in ("hh_rlhf", "alpaca_eval", "sharegpt"):
        add_raw([p for p in corp.benign_chat if p.source == src], lambda p, s=src: s, benign, per_group_turns=3)
    seeds_path = root / "distill" / "alpaca" / "seed_tasks.jsonl"
    if seeds_path.is_file():
        for sid, text in _read_alpaca_seeds(seeds_path):
            g = f"alpaca_seed:{sid}"
            items.append(Item("", text, g, "alpaca_seed", "raw", "val",
                              _labels(coding=-1, agentic=-1, maths=-1, extraction=1), tags={"raw", "distill"}))
        files.append({"path": str(seeds_path.relative_to(root)), "sha256": _sha256(seeds_path),
                      "rows": sum(1 for it in items if it.source == "alpaca_seed"),
                      "licence": "CC BY-NC 4.0 data (tests only)", "name": "alpaca_seed", "used_for": "validation only"})
    for i, text in enumerate(HARD_NEGATIVES):
        lab, tags = _benign_labels(text)
        items.append(Item("", text, f"own_hard_negative:{i}", "own_hard_negative", "raw", "train", lab,
                          tags=tags | {"raw", "own_text"}))
    for it in items:
        if "benign" in it.tags and ("benign_coding" in it.tags or "reasoning_words" in it.tags):
            it.weight = HARD_NEGATIVE_WEIGHT

    # ---- wrapped items: real content in the project's own wrappers
    raw = [it for it in items if it.family == "raw" and it.source != "own_hard_negative"]
    for name, (fam, place, pool, cot, rubric, split, count) in _PLAN.items():
        cands = [it for it in raw if it.split == split and len(it.user) >= 8]
        if pool == "coding":
            cands = [it for it in cands if it.source == "gpteacher_codegen"]
        elif pool == "agentic":
            cands = [it for it in cands if it.source in ("gpteacher_toolformer", "bfcl") and it.labels["agentic"] == 1]
        elif pool == "pairs":
            cands = [it for it in cands if it.response]
        if not cands:
            continue
        picks = rng.choice(len(cands), size=min(count, len(cands)), replace=len(cands) < count)
        for k in picks:
            c = cands[int(k)]
            lab = {h: (v if h in ("coding", "agentic", "maths") else 0) for h, v in c.labels.items()}
            lab.update(cot=cot, rubric=rubric, elicitation=1, extraction=1)
            if place == "user":
                system, user = c.system, fam.render(rng, content=c.user)
            elif place == "system":
                system, user = fam.render(rng, content=c.user), c.user
            else:  # rubric: question + real response
                user = fam.render(rng, question=c.user, response=c.response or "", rubric=W.rubric_text(rng))
                system = c.system
                lab.update(coding=-1, agentic=-1, maths=-1)
            if name == "careful_code":
                lab["coding"] = -1
            tags = {"wrapped", "heldout" if name in HELDOUT_FAMILIES else "seen", f"content:{c.source}"}
            items.append(Item(system, user, c.group, c.source, name, split, lab, tags=tags))
    return Dataset(items=items, files=files)


# ---------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------

def _fit_heads(X, Y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per head on the rows whose label is not -1; returns (weights (F, k), bias (k,))."""
    from sklearn.linear_model import LogisticRegression

    k = Y.shape[1]
    coef = np.zeros((X.shape[1], k), dtype=np.float64)
    bias = np.zeros(k)
    for j in range(k):
        m = Y[:, j] >= 0
        clf = LogisticRegression(C=C_REG, solver="liblinear", class_weight="balanced", random_state=SEED,
                                 max_iter=1000)
        clf.fit(X[m], Y[m, j], sample_weight=w[m])
        coef[:, j] = clf.coef_[0]
        bias[j] = clf.intercept_[0]
    return coef, bias


def _proba(X, coef, bias) -> np.ndarray:
    s = np.asarray(X @ coef) + bias
    return 1.0 / (1.0 + np.exp(-np.clip(s, -60, 60)))


def _group_folds(groups: Sequence[str], n: int = 3) -> np.ndarray:
    """Fold number per row: ``sha256('fold:' + group) mod n`` (groups never straddle folds)."""
    return np.array([int(hashlib.sha256(("fold:" + g).encode()).hexdigest(), 16) % n for g in groups])


def _q(values: np.ndarray, fpr: float) -> float:
    """Smallest threshold t with mean(values >= t) <= fpr (values = negatives' scores)."""
    if len(values) == 0:
        return 0.5
    v = np.sort(values)[::-1]
    k = int(np.floor(fpr * len(v)))  # at most k negatives may reach the threshold
    return float(np.nextafter(v[k], 1.0)) if k < len(v) else float(v[-1])


def choose_thresholds(oof: np.ndarray, Y: np.ndarray, tags: Sequence[set[str]]) -> dict[str, float]:
    """Per-head threshold from out-of-fold probabilities on the TRAINING split.

    Every head: the lowest threshold whose out-of-fold FPR is <= ``TARGET_FPR`` on that head's
    negatives, <= ``BENIGN_FPR`` on its real-user (benign) negatives and <= ``TARGET_FPR`` on its
    benign coding negatives (where the head has any): the highest of the three.
    """
    out = {}
    benign = np.array(["benign" in tg for tg in tags])
    bcode = np.array(["benign_coding" in tg for tg in tags])
    for j, h in enumerate(HEADS):
        neg = Y[:, j] == 0
        cands = [_q(oof[neg, j], TARGET_FPR)]
        if (neg & benign).any():
            cands.append(_q(oof[neg & benign, j], BENIGN_FPR))
        if (neg & bcode).any():
            cands.append(_q(oof[neg & bcode, j], TARGET_FPR))
        out[h] = max(cands)
    return out


def _matrix(items: Sequence[Item]):
    return featurize([it.system for it in items], [it.user for it in items], N_FEATURES, SCAN_CHARS)


def fit(train: Sequence[Item], log=print) -> tuple[np.ndarray, np.ndarray, dict[str, float], dict]:
    """Fit all heads on ``train`` and pick thresholds by 3-fold group cross-validation.

    Returns:
        (weights (N_FEATURES, k), bias (k,), thresholds {head: p}, out-of-fold summary {head: {...}}).
    """
    X = _matrix(train)
    Y = np.array([[it.labels[h] for h in HEADS] for it in train])
    w = np.array([it.weight for it in train])
    folds = _group_folds([it.group for it in train])
    oof = np.zeros(Y.shape)
    for f in range(3):
        tr, te = folds != f, folds == f
        coef, bias = _fit_heads(X[tr], Y[tr], w[tr])
        oof[te] = _proba(X[te], coef, bias)
        log(f"  cross-validation fold {f + 1}/3 done")
    thr = choose_thresholds(oof, Y, [it.tags for it in train])
    summary = {}
    for j, h in enumerate(HEADS):
        pos, neg = Y[:, j] == 1, Y[:, j] == 0
        summary[h] = {"oof_recall": float((oof[pos, j] >= thr[h]).mean()), "oof_fpr": float((oof[neg, j] >= thr[h]).mean()),
                      "n_pos": int(pos.sum()), "n_neg": int(neg.sum())}
    coef, bias = _fit_heads(X, Y, w)
    return coef, bias, thr, summary


# ---------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------

def _rate(flags: np.ndarray, mask: np.ndarray) -> dict:
    n = int(mask.sum())
    return {"n": n, "rate": float(flags[mask].mean()) if n else None}


def evaluate(clf: PromptClassifier, items: Sequence[Item]) -> dict:
    """Validation figures of ``clf`` on ``items`` at its stored thresholds.

    Returns a dict: ``heads`` ({head: recall, fpr, n_pos, n_neg}), ``extraction_target``
    (recall on held-out extraction-style prompts and FPR on benign coding prompts), and
    breakdowns by family and corpus. ``rate`` is the share flagged.
    """
    P = clf.predict_proba([it.system for it in items], [it.user for it in items])
    F = P >= clf.thresholds.astype(np.float32)
    Y = np.array([[it.labels[h] for h in clf.heads] for it in items])
    tags = [it.tags for it in items]
    fam = np.array([it.family for it in items])
    src = np.array([it.source for it in items])
    has = lambda t: np.array([t in tg for tg in tags])  # noqa: E731
    benign, bcode, rwords, distill, raw = has("benign"), has("benign_coding"), has("reasoning_words"), has("distill"), has("raw")
    j = {h: i for i, h in enumerate(clf.heads)}
    out: dict = {"heads": {}}
    for h in clf.heads:
        pos, neg = Y[:, j[h]] == 1, Y[:, j[h]] == 0
        out["heads"][h] = {"recall": _rate(F[:, j[h]], pos)["rate"], "fpr": _rate(F[:, j[h]], neg)["rate"],
                           "n_pos": int(pos.sum()), "n_neg": int(neg.sum())}
    e = F[:, j["extraction"]]
    pe = P[:, j["extraction"]]
    target_pos = (distill & raw) | np.isin(fam, HELDOUT_FAMILIES)
    out["extraction_target"] = {
        "recall_heldout_extraction": _rate(e, target_pos),
        "recall_distill_raw": _rate(e, distill & raw),
        "recall_heldout_wrappers": _rate(e, np.isin(fam, HELDOUT_FAMILIES)),
        "fpr_benign_coding": _rate(e, bcode),
        "fpr_benign_coding_sharegpt": _rate(e, bcode & (src == "sharegpt")),
        "fpr_benign_all": _rate(e, benign),
    }
    # diagnostic only (threshold read off the validation benign-coding scores, not stored)
    if bcode.any():
        t_val = _q(pe[bcode], TARGET_FPR)
        out["extraction_target"]["diagnostic_recall_at_1pct_val_benign_coding_fpr"] = {
            "threshold": t_val, "recall_heldout_extraction": _rate(pe >= t_val, target_pos)["rate"],
            "recall_heldout_wrappers": _rate(pe >= t_val, np.isin(fam, HELDOUT_FAMILIES))["rate"],
            "recall_distill_raw": _rate(pe >= t_val, distill & raw)["rate"]}
    g = F[:, j["elicitation"]]
    pg = P[:, j["elicitation"]]
    wrapped_held = np.isin(fam, HELDOUT_FAMILIES)
    out["elicitation_target"] = {
        "recall_heldout_wrappers": _rate(g, wrapped_held),
        "recall_heldout_cot_families": _rate(g, np.isin(fam, ("cot_heldout", "careful_cot", "datagen_heldout"))),
        "fpr_benign_coding": _rate(g, bcode),
        "fpr_benign_coding_sharegpt": _rate(g, bcode & (src == "sharegpt")),
        "fpr_benign_all": _rate(g, benign),
        "fpr_distill_raw": _rate(g, distill & raw),
        "cot_fpr_benign_coding": _rate(F[:, j["cot"]], bcode),
        "cot_recall_heldout_cot_families": _rate(F[:, j["cot"]], np.isin(fam, ("cot_heldout", "careful_cot", "datagen_heldout"))),
        "rubric_fpr_benign_coding": _rate(F[:, j["rubric"]], bcode),
    }
    if bcode.any():
        t_val = _q(pg[bcode], TARGET_FPR)
        out["elicitation_target"]["diagnostic_recall_at_1pct_val_benign_coding_fpr"] = {
            "threshold": t_val, "recall_heldout_wrappers": _rate(pg >= t_val, wrapped_held)["rate"]}
    out["by_corpus_raw"] = {s: {"extraction": _rate(e, raw & (src == s))["rate"], "n": int((raw & (src == s)).sum()),
                                **{h: _rate(F[:, j[h]], raw & (src == s) & (Y[:, j[h]] == 1))["rate"]
                                   for h in ("coding", "agentic", "maths")}}
                            for s in sorted(set(src[raw]))}
    out["by_family"] = {}
    for f in sorted(set(fam) - {"raw"}):
        m = fam == f
        out["by_family"][f] = {"n": int(m.sum()), "heldout": f in HELDOUT_FAMILIES,
                               "extraction": _rate(e, m)["rate"], "elicitation": _rate(g, m)["rate"], "cot": _rate(F[:, j["cot"]], m)["rate"],
                               "rubric": _rate(F[:, j["rubric"]], m)["rate"]}
    out["benign"] = {
        "cot_fpr_reasoning_words": _rate(F[:, j["cot"]], benign & rwords),
        "rubric_fpr_reasoning_words": _rate(F[:, j["rubric"]], benign & rwords),
        "coding_rate_on_benign_coding": _rate(F[:, j["coding"]], bcode),
        "cot_fpr_distill_raw": _rate(F[:, j["cot"]], distill & raw),
    }
    return out


def leave_one_corpus_out(train: Sequence[Item], val: Sequence[Item], everything: Sequence[Item],
                         log=print) -> dict:
    """For each distillation corpus: fit the extraction head without it (raw prompts and wrapped
    copies of its prompts), pick the threshold by the same out-of-fold rule, and report recall on
    all of that corpus's raw prompts and FPR on the validation benign coding prompts."""
    out = {}
    bcode_val = [it for it in val if "benign_coding" in it.tags]
    Xb = _matrix(bcode_val)
    for corpus in DISTILL_SOURCES:
        tr = [it for it in train if it.source != corpus]
        X = _matrix(tr)
        Y = np.array([[it.labels["extraction"]] for it in tr])
        w = np.array([it.weight for it in tr])
        folds = _group_folds([it.group for it in tr])
        oof = np.zeros(len(tr))
        for f in range(3):
            a, b = folds != f, folds == f
            c, bb = _fit_heads(X[a], Y[a], w[a])
            oof[b] = _proba(X[b], c, bb)[:, 0]
        tags = [it.tags for it in tr]
        bc = np.array(["benign_coding" in t for t in tags])
        neg = Y[:, 0] == 0
        bn = np.array(["benign" in t for t in tags])
        thr = max(_q(oof[neg], TARGET_FPR), _q(oof[neg & bc], TARGET_FPR), _q(oof[neg & bn], BENIGN_FPR))
        c, bb = _fit_heads(X, Y, w)
        held = [it for it in everything if it.source == corpus and it.family == "raw"]
        ph = _proba(_matrix(held), c, bb)[:, 0]
        pb = _proba(Xb, c, bb)[:, 0]
        out[corpus] = {"n_test": len(held), "recall": float((ph >= thr).mean()), "threshold": thr,
                       "fpr_val_benign_coding": float((pb >= thr).mean()), "n_benign_coding": len(bcode_val)}
        log(f"  leave-one-corpus-out {corpus}: recall {out[corpus]['recall']:.3f}")
    return out


# ---------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------

def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A deterministic .npz (fixed zip timestamps, deflate), readable by ``np.load(allow_pickle=False)``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, b.getvalue(), compresslevel=9)
    return buf.getvalue()


def write_model(out_dir: Path, coef: np.ndarray, bias: np.ndarray, card: dict) -> Path:
    """Write ``<out>/prompt_classifier.npz`` (nonzero weight rows, float32) and the JSON card; returns the npz path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = np.flatnonzero(np.any(coef != 0, axis=1)).astype(np.int32)
    blob = _npz_bytes({"rows": rows, "values": coef[rows].astype(np.float32), "bias": bias.astype(np.float32)})
    npz = out_dir / f"{MODEL_NAME}.npz"
    npz.write_bytes(blob)
    card = dict(card, model_file_sha256=hashlib.sha256(blob).hexdigest(), model_file_bytes=len(blob),
                nonzero_weight_rows=int(len(rows)))
    (out_dir / f"{MODEL_NAME}.json").write_text(json.dumps(card, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return npz


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def report_markdown(card: dict) -> str:
    """The validation report (markdown) from a model card."""
    v = card["validation"]
    L = ["Command: `python -m distillwatch.classify.train --prompts ../shared/data/prompts "
         "--out src/distillwatch/classify/model --doc docs/classifier.md`", "",
         f"Training items: {card['data']['n_train']}; validation items: {card['data']['n_val']}.", "",
         "### Thresholds (chosen on the training split, 3-fold group cross-validation)", "",
         "| head | threshold | out-of-fold recall | out-of-fold FPR | train pos | train neg |", "|---|---|---|---|---|---|"]
    for h in card["heads"]:
        s = card["cross_validation"][h]
        L.append(f"| {h} | {card['thresholds'][h]:.4f} | {_pct(s['oof_recall'])} | {_pct(s['oof_fpr'])} | {s['n_pos']} | {s['n_neg']} |")
    L += ["", "### Held-out validation split, per head (at the stored thresholds)", "",
          "| head | recall | FPR | positives | negatives |", "|---|---|---|---|---|"]
    for h, s in v["heads"].items():
        L.append(f"| {h} | {_pct(s['recall'])} | {_pct(s['fpr'])} | {s['n_pos']} | {s['n_neg']} |")
    t = v["extraction_target"]
    L += ["", "### The issue's target: extraction recall at <= 1% FPR on benign coding prompts", "",
          "| measure | value | n |", "|---|---|---|"]
    for k in ("recall_heldout_extraction", "recall_distill_raw", "recall_heldout_wrappers", "fpr_benign_coding",
              "fpr_benign_coding_sharegpt", "fpr_benign_all"):
        L.append(f"| {k} | {_pct(t[k]['rate'])} | {t[k]['n']} |")
    d = t.get("diagnostic_recall_at_1pct_val_benign_coding_fpr")
    if d:
        L += ["", f"Diagnostic only (threshold {d['threshold']:.4f} read off the validation benign-coding scores, "
              f"NOT the stored one): recall on held-out extraction-style prompts {_pct(d['recall_heldout_extraction'])}, "
              f"on held-out wrappers {_pct(d['recall_heldout_wrappers'])}, on raw distillation prompts "
              f"{_pct(d['recall_distill_raw'])}."]
    t = v["elicitation_target"]
    L += ["", "### The same target for the elicitation head (wrapper intent, content-independent)", "",
          "| measure | value | n |", "|---|---|---|"]
    for k in ("recall_heldout_wrappers", "recall_heldout_cot_families", "fpr_benign_coding", "fpr_benign_coding_sharegpt",
              "fpr_benign_all", "fpr_distill_raw", "cot_recall_heldout_cot_families", "cot_fpr_benign_coding",
              "rubric_fpr_benign_coding"):
        L.append(f"| {k} | {_pct(t[k]['rate'])} | {t[k]['n']} |")
    d = t.get("diagnostic_recall_at_1pct_val_benign_coding_fpr")
    if d:
        L += ["", f"Diagnostic only (threshold {d['threshold']:.4f} read off the validation benign-coding scores, "
              f"NOT the stored one): elicitation recall on held-out wrappers {_pct(d['recall_heldout_wrappers'])}."]
    L += ["", "### Raw prompts per corpus (validation split; share flagged)", "",
          "| corpus | n | extraction | coding (pos only) | agentic (pos only) | maths (pos only) |", "|---|---|---|---|---|---|"]
    for s, r in v["by_corpus_raw"].items():
        L.append(f"| {s} | {r['n']} | {_pct(r['extraction'])} | {_pct(r['coding'])} | {_pct(r['agentic'])} | {_pct(r['maths'])} |")
    L += ["", "### Wrapper families (validation contents; share flagged)", "",
          "| family | held out | n | elicitation | extraction | cot | rubric |", "|---|---|---|---|---|---|---|"]
    for f, r in v["by_family"].items():
        L.append(f"| {f} | {'yes' if r['heldout'] else 'no (seen templates)'} | {r['n']} | {_pct(r['elicitation'])} | {_pct(r['extraction'])} | "
                 f"{_pct(r['cot'])} | {_pct(r['rubric'])} |")
    b = v["benign"]
    L += ["", "### Hard negatives and capability on real users' prompts (validation)", "",
          f"- cot FPR on benign prompts with reasoning/grading words: {_pct(b['cot_fpr_reasoning_words']['rate'])} "
          f"(n = {b['cot_fpr_reasoning_words']['n']})",
          f"- rubric FPR on the same: {_pct(b['rubric_fpr_reasoning_words']['rate'])}",
          f"- cot flag on raw distillation prompts (no wrapper): {_pct(b['cot_fpr_distill_raw']['rate'])} "
          f"(n = {b['cot_fpr_distill_raw']['n']})",
          f"- coding head fires on benign coding prompts (capability recall on real users' code questions, "
          f"selection rule is broad): {_pct(b['coding_rate_on_benign_coding']['rate'])} "
          f"(n = {b['coding_rate_on_benign_coding']['n']})"]
    lo = card.get("leave_one_corpus_out")
    if lo:
        L += ["", "### Leave one distillation corpus out (extraction head)", "",
              "| corpus left out | prompts tested | recall | threshold (train-side rule) | FPR on val benign coding |",
              "|---|---|---|---|---|"]
        for c, r in lo.items():
            L.append(f"| {c} | {r['n_test']} | {_pct(r['recall'])} | {r['threshold']:.4f} | {_pct(r['fpr_val_benign_coding'])} |")
    return "\n".join(L) + "\n"


BEGIN, END = "<!-- BEGIN GENERATED REPORT -->", "<!-- END GENERATED REPORT -->"


def _update_doc(doc: Path, report: str) -> None:
    text = doc.read_text(encoding="utf-8") if doc.is_file() else f"# Prompt classifier\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{doc}: markers {BEGIN} / {END} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{report}{END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Train the classifier, validate it, write the model and card, print the report.

    Args:
        argv: ``--prompts DIR --out DIR [--doc FILE] [--no-loco]``.

    Returns:
        0 on success.

    Raises:
        FileNotFoundError / CorpusError: the prompts folder lacks a training corpus.
    """
    import sklearn

    ap = argparse.ArgumentParser(prog="python -m distillwatch.classify.train", description=main.__doc__)
    ap.add_argument("--prompts", required=True, help="shared bundle prompts folder (benign/, distill/)")
    ap.add_argument("--out", required=True, help="folder for prompt_classifier.npz and .json")
    ap.add_argument("--doc", default=None, help="markdown file whose generated-report section is rewritten")
    ap.add_argument("--no-loco", action="store_true", help="skip the leave-one-corpus-out check")
    a = ap.parse_args(argv)
    log = lambda *x: print(*x, file=sys.stderr)  # noqa: E731
    ds = build_dataset(a.prompts)
    train, val = ds.select("train"), ds.select("val")
    log(f"dataset: {len(train)} training items, {len(val)} validation items")
    coef, bias, thr, cv = fit(train, log=log)
    shipped_sources = sorted({it.source for it in train})
    card = {
        "name": MODEL_NAME, "heads": list(HEADS), "thresholds": thr,
        "features": {"n_features": N_FEATURES, "scan_chars": SCAN_CHARS, "hash": HASH_VERSION,
                     "token_pattern": TOKEN_PATTERN, "ngrams": [1, 2], "values": "binary, L2-normalised rows",
                     "text": "ends(system_text) + '\\n' + ends(user_text)"},
        "training": {"estimator": "sklearn.linear_model.LogisticRegression", "C": C_REG, "solver": "liblinear",
                     "class_weight": "balanced", "seed": SEED, "sklearn_version": sklearn.__version__,
                     "numpy_version": np.__version__, "hard_negative_weight": HARD_NEGATIVE_WEIGHT,
                     "target_fpr": TARGET_FPR, "benign_fpr": BENIGN_FPR,
                     "sources_trained_on": shipped_sources,
                     "families_trained_on": sorted({it.family for it in train} - {"raw"}),
                     "own_text": "cot/rubric/hydra/datagen wrappers, COT_EXTRA, RUBRIC_EXTRA, HARD_NEGATIVES are "
                                 "the project's own text"},
        "data": {"files": ds.files, "n_train": len(train), "n_val": len(val),
                 "validation_only": VALIDATION_ONLY_SOURCES, "val_rule": f"sha256(group) % {VAL_MOD} == 0"},
        "cross_validation": cv,
    }
    write_model(Path(a.out), coef, bias, dict(card, validation={}))
    clf = PromptClassifier.load(a.out)
    card["validation"] = evaluate(clf, val)
    if not a.no_loco:
        card["leave_one_corpus_out"] = leave_one_corpus_out(train, val, ds.items, log=log)
    npz = write_model(Path(a.out), coef, bias, card)
    report = report_markdown(json.loads((Path(a.out) / f"{MODEL_NAME}.json").read_text()))
    print(report)
    log(f"wrote {npz} ({npz.stat().st_size} bytes)")
    if a.doc:
        _update_doc(Path(a.doc), report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
