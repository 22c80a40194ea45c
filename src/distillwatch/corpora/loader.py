"""Load real prompt corpora, grouped by the kind of traffic they stand for.

Two modes:

* ``shared``: the project's shared data bundle (``<data>/benign/...`` and
  ``<data>/distill/...``, see ``../shared/data/README.md``): ShareGPT, HH-RLHF,
  AlpacaEval for benign chat; GPTeacher, GSM8K and BFCL v4 for the capabilities that
  distillation campaigns target.
* ``bfcl-eval``: when no shared bundle is found, the Berkeley Function-Calling
  Leaderboard data that the PyPI package ``bfcl-eval`` ships (Apache-2.0) stands in
  for every kind. The package is located with ``importlib.util.find_spec`` and never
  imported (importing it pulls heavy dependencies).

The texts are used verbatim; nothing here is generated.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

log = logging.getLogger(__name__)

ENV_VAR = "DISTILLWATCH_PROMPTS_DIR"
KINDS: tuple[str, ...] = ("benign_chat", "coding", "tool_use", "agentic_multiturn", "maths")
MAX_MESSAGE_CHARS = 6000
"""Longer messages are cut (with a marker) so that simulated logs stay a sensible size."""


class CorpusError(RuntimeError):
    """No usable prompt corpus was found."""


@dataclass
class Prompt:
    """One real prompt (or conversation) from a public corpus.

    Attributes:
        messages: chat turns ``{role, content}`` in order. ``benign_chat`` items may hold
            assistant turns between user turns (the real replies); ``agentic_multiturn``
            items hold one user message per task turn.
        tools: tool schemas ``{name, description, parameters}`` offered with the prompt,
            or None.
        source: short corpus name, e.g. ``sharegpt`` or ``bfcl:live_simple``.
        id: identifier within the source (row id or index).
        reference: a real reference answer when the corpus has one (GSM8K solution,
            GPTeacher response, AlpacaEval output), else None.
        calls: for BFCL multi-turn rows, the ground-truth function-call path (names).
    """

    messages: list[dict[str, str]]
    tools: list[dict[str, Any]] | None = None
    source: str = ""
    id: str = ""
    reference: str | None = None
    calls: list[str] | None = None

    @property
    def text(self) -> str:
        """The first user message (the prompt text proper)."""
        for m in self.messages:
            if m["role"] == "user":
                return m["content"]
        return self.messages[0]["content"] if self.messages else ""

    @property
    def user_turns(self) -> list[str]:
        """The contents of the user messages, in order (empty if there are none)."""
        return [m["content"] for m in self.messages if m["role"] == "user"]


@dataclass
class Corpora:
    """Real prompt texts grouped by kind (see ``KINDS``).

    Attributes:
        benign_chat, coding, tool_use, agentic_multiturn, maths: lists of ``Prompt``.
            A kind may be empty (e.g. ``maths`` in ``bfcl-eval`` mode without maths rows).
        sources: one dict per file or package read: ``{kind, name, path, rows, licence}``
            (plus ``package`` for files from ``bfcl-eval``); ``rows`` counts the prompts read
            from the file, before any ``max_per_kind`` sample. Prompts are shared between
            ``Corpora`` loaded in one process: treat them as read-only.
        mode: ``"shared"`` or ``"bfcl-eval"``.
        root: the directory read from.
    """

    benign_chat: list[Prompt] = field(default_factory=list)
    coding: list[Prompt] = field(default_factory=list)
    tool_use: list[Prompt] = field(default_factory=list)
    agentic_multiturn: list[Prompt] = field(default_factory=list)
    maths: list[Prompt] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "shared"
    root: str = ""

    def kind(self, name: str) -> list[Prompt]:
        """The prompts of kind ``name`` (the stored list itself, not a copy; may be empty).

        Raises:
            KeyError: ``name`` is not one of ``KINDS``.
        """
        if name not in KINDS:
            raise KeyError(f"unknown corpus kind {name!r}; kinds are {KINDS}")
        return getattr(self, name)

    def counts(self) -> dict[str, int]:
        """Number of prompts per kind, for every kind in ``KINDS`` (zeros included)."""
        return {k: len(getattr(self, k)) for k in KINDS}

    def available(self) -> list[str]:
        """The kinds with at least one prompt, in ``KINDS`` order."""
        return [k for k in KINDS if getattr(self, k)]


# ---------------------------------------------------------------------------------
# file helpers
# ---------------------------------------------------------------------------------

def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def _read_json_any(path: Path) -> list[dict]:
    """A JSON array file or a JSON-lines file (BFCL names its JSON-lines files ``.json``)."""
    with _open_text(path) as fh:
        text = fh.read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        return json.loads(stripped)
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            # a pretty-printed single object (e.g. BFCL_v4_format_sensitivity.json): not rows
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}: neither JSON nor JSON lines ({exc})") from exc
            return [obj] if isinstance(obj, dict) and "question" in obj else []
        if isinstance(obj, dict):
            rows.append(obj)
    return rows


def _find(root: Path, rel: str) -> Path | None:
    """``root/rel`` with or without ``.gz``; failing that, the same file name anywhere below root
    (files in the shared bundle have been moved before)."""
    rel_plain = rel[:-3] if rel.endswith(".gz") else rel
    for cand in (root / rel_plain, root / (rel_plain + ".gz")):
        if cand.is_file():
            return cand
    name = Path(rel_plain).name
    hits = sorted(p for p in root.rglob(name + "*") if p.is_file() and p.name in (name, name + ".gz"))
    return hits[0] if hits else None


def _clip(text: str) -> str:
    text = text if isinstance(text, str) else str(text)
    if len(text) > MAX_MESSAGE_CHARS:
        return text[:MAX_MESSAGE_CHARS] + " [...]"
    return text


_ROLE_MAP = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
             "chatgpt": "assistant", "bard": "assistant", "bing": "assistant", "system": "system"}


def _normalise_turns(turns: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Map roles, drop empties, merge consecutive same-role turns, and start at the first user turn
    (after an optional system message)."""
    out: list[dict[str, str]] = []
    for role, content in turns:
        role = _ROLE_MAP.get(str(role).lower())
        if role is None or not isinstance(content, str) or not content.strip():
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"] = _clip(out[-1]["content"] + "\n\n" + content)
            continue
        out.append({"role": role, "content": _clip(content)})
    system = [m for m in out[:1] if m["role"] == "system"]
    rest = out[len(system):]
    while rest and rest[0]["role"] != "user":
        rest = rest[1:]
    return system + rest if rest else []


_JSON_TYPE = {"dict": "object", "float": "number", "tuple": "array", "list": "array", "int": "integer",
              "str": "string", "bool": "boolean", "any": "string", "double": "number", "long": "integer",
              "char": "string", "String": "string", "HashMap": "object", "ArrayList": "array",
              "Array": "array", "Boolean": "boolean", "Set": "array"}


def _jsonschema(node: Any) -> Any:
    """BFCL writes Python/Java type names (``dict``, ``float``...); tools in real API traffic use
    JSON-schema names, so map them."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "type" and isinstance(v, str):
                out[k] = _JSON_TYPE.get(v, v)
            else:
                out[k] = _jsonschema(v)
        return out
    if isinstance(node, list):
        return [_jsonschema(v) for v in node]
    return node


def _tool(fn: dict) -> dict:
    return {
        "name": str(fn.get("name", "")),
        "description": str(fn.get("description", "")),
        "parameters": _jsonschema(fn.get("parameters") or {"type": "object", "properties": {}}),
    }


# ---------------------------------------------------------------------------------
# per-corpus readers
# ---------------------------------------------------------------------------------

def _read_sharegpt(path: Path) -> Iterator[Prompt]:
    with _open_text(path) as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            row = json.loads(line)
            msgs = _normalise_turns((t.get("from", ""), t.get("value", "")) for t in row.get("conversations", []))
            if msgs:
                yield Prompt(messages=msgs, source="sharegpt", id=str(row.get("id", i)))


_HH_SPLIT = re.compile(r"\n\n(Human|Assistant):\s?")


def parse_hh_transcript(text: str) -> list[dict[str, str]]:
    """Parse an HH-RLHF ``\\n\\nHuman: ... \\n\\nAssistant: ...`` transcript into chat turns."""
    parts = _HH_SPLIT.split(text)
    turns = [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]
    return _normalise_turns(turns)


def _read_hh(path: Path) -> Iterator[Prompt]:
    with _open_text(path) as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            row = json.loads(line)
            msgs = parse_hh_transcript(row.get("chosen", ""))
            if msgs:
                yield Prompt(messages=msgs, source="hh_rlhf", id=str(i))


def _read_alpaca_eval(path: Path) -> Iterator[Prompt]:
    for i, row in enumerate(_read_json_any(path)):
        ins = row.get("instruction")
        if isinstance(ins, str) and ins.strip():
            yield Prompt(messages=[{"role": "user", "content": _clip(ins)}], source="alpaca_eval",
                         id=str(i), reference=row.get("output"))


def _gpteacher_text(row: dict) -> str:
    ins = (row.get("instruction") or "").strip()
    inp = (row.get("input") or "").strip()
    return _clip(f"{ins}\n\n{inp}" if inp else ins)


def _read_gpteacher(path: Path, source: str) -> Iterator[Prompt]:
    for i, row in enumerate(_read_json_any(path)):
        text = _gpteacher_text(row)
        if text:
            yield Prompt(messages=[{"role": "user", "content": text}], source=source, id=str(i),
                         reference=row.get("response"))


def _read_gsm8k(path: Path) -> Iterator[Prompt]:
    with _open_text(path) as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            row = json.loads(line)
            q = row.get("question")
            if isinstance(q, str) and q.strip():
                yield Prompt(messages=[{"role": "user", "content": q.strip()}], source="gsm8k", id=str(i),
                             reference=row.get("answer"))


def _bfcl_category(path: Path) -> str:
    name = path.name.split(".")[0]
    return name[len("BFCL_v4_"):] if name.startswith("BFCL_v4_") else name


def _bfcl_question_messages(row: dict) -> list[dict[str, str]]:
    q = row.get("question") or []
    turns = q[0] if q and isinstance(q[0], list) else q
    return _normalise_turns((m.get("role", ""), m.get("content", "")) for m in turns if isinstance(m, dict))


def _read_bfcl_single(path: Path, with_tools: bool) -> Iterator[Prompt]:
    cat = _bfcl_category(path)
    for row in _read_json_any(path):
        msgs = _bfcl_question_messages(row)
        if not msgs:
            continue
        tools = [_tool(f) for f in row.get("function") or []] if with_tools else None
        yield Prompt(messages=msgs, tools=tools or None, source=f"bfcl:{cat}", id=str(row.get("id", "")))


def _read_bfcl_multi_turn(path: Path, func_docs: dict[str, list[dict]] | None) -> Iterator[Prompt]:
    cat = _bfcl_category(path)
    for row in _read_json_any(path):
        user_turns: list[dict[str, str]] = []
        for turn in row.get("question") or []:
            for m in turn or []:
                if isinstance(m, dict) and m.get("role") == "user" and str(m.get("content", "")).strip():
                    user_turns.append({"role": "user", "content": _clip(m["content"])})
        if not user_turns:
            continue
        excluded = set(row.get("excluded_function") or [])
        path_calls = [str(p) for p in row.get("path") or []]
        tools: list[dict] = []
        for cls in row.get("involved_classes") or []:
            docs = (func_docs or {}).get(cls)
            if docs:  # already converted by _load_func_docs
                tools += [t for t in docs if t["name"] not in excluded]
            else:  # no schema available: name-only tools from the ground-truth call path
                for name in sorted({p.split(".", 1)[1] for p in path_calls if p.startswith(cls + ".")}):
                    tools.append({"name": name, "description": f"{cls}: {name.replace('_', ' ')}.",
                                  "parameters": {"type": "object", "properties": {}}})
        yield Prompt(messages=user_turns, tools=tools or None, source=f"bfcl:{cat}", id=str(row.get("id", "")),
                     calls=[p.split(".", 1)[-1] for p in path_calls] or None)


# BFCL multi-turn class -> function-doc file (mirrors bfcl_eval.constants.executable_backend_config)
_FUNC_DOC_FILES = {
    "GorillaFileSystem": "gorilla_file_system.json", "MathAPI": "math_api.json",
    "MessageAPI": "message_api.json", "TwitterAPI": "posting_api.json", "TicketAPI": "ticket_api.json",
    "TradingBot": "trading_bot.json", "TravelAPI": "travel_booking.json",
    "VehicleControlAPI": "vehicle_control.json", "WebSearchAPI": "web_search.json",
    "MemoryAPI_kv": "memory_kv.json", "MemoryAPI_vector": "memory_vector.json",
    "MemoryAPI_rec_sum": "memory_rec_sum.json",
}


def bfcl_eval_data_dir() -> Path | None:
    """The ``data`` folder of the installed ``bfcl-eval`` package, found without importing it."""
    try:
        spec = importlib.util.find_spec("bfcl_eval")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "data"
        if d.is_dir() and any(d.glob("BFCL_v4_*.json*")):
            return d
    return None


def _load_func_docs(doc_dir: Path | None) -> dict[str, list[dict]] | None:
    if doc_dir is None or not doc_dir.is_dir():
        return None
    docs = {}
    for cls, fname in _FUNC_DOC_FILES.items():
        p = doc_dir / fname
        if p.is_file():
            docs[cls] = [_tool(f) for f in _read_json_any(p)]
    return docs or None


def _bfcl_version() -> str:
    try:
        from importlib.metadata import version

        return version("bfcl-eval")
    except Exception:  # noqa: BLE001 - metadata is optional
        return "unknown"


# ---------------------------------------------------------------------------------
# data-dir resolution
# ---------------------------------------------------------------------------------

def default_prompts_dir() -> Path | None:
    """``$DISTILLWATCH_PROMPTS_DIR``; else ``../shared/data/prompts`` from the working directory;
    else ``shared/data/prompts`` beside or above the repository (walking up from this file).
    Returns None when nothing exists (callers then fall back to ``bfcl-eval``)."""
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    cands = [Path.cwd() / ".." / "shared" / "data" / "prompts", Path.cwd() / "shared" / "data" / "prompts"]
    for anc in Path(__file__).resolve().parents:
        cands.append(anc / "shared" / "data" / "prompts")
    for c in cands:
        if c.is_dir():
            return c.resolve()
    return None


# ---------------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------------

_MATH_RE = re.compile(
    r"\b(area|perimeter|volume|sum|product|average|mean|median|probability|integral|integrate|derivative|"
    r"equation|roots?|factorial|prime|gcd|lcm|percent(age)?|interest|calculate|compute|solve|square|"
    r"triangle|circle|hypotenuse|velocity|speed|common factor|fibonacci|binomial|permutations?|combinations?|matrix|logarithm)\b",
    re.IGNORECASE)

SHARED_FILES: dict[str, list[tuple[str, str, str]]] = {
    # kind: [(relative path, reader name, licence)]
    "benign_chat": [
        ("benign/sharegpt/sharegpt_v3_sample3000.jsonl.gz", "sharegpt", "no licence stated (tests only)"),
        ("benign/hh_rlhf/harmless-base-test.jsonl.gz", "hh_rlhf", "MIT"),
        ("benign/alpaca_eval/outputs.json.gz", "alpaca_eval", "Apache-2.0"),
    ],
    "coding": [("distill/gpteacher/codegen-instruct.json.gz", "gpteacher_codegen", "MIT")],
    "tool_use": [("distill/gpteacher/toolformer-dedupe-only-dataset.json.gz", "gpteacher_toolformer", "MIT")],
    "maths": [("distill/gsm8k/train.jsonl.gz", "gsm8k", "MIT")],
}
BFCL_TOOL_CATEGORIES = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
                        "parallel_multiple", "irrelevance", "live_simple", "live_multiple", "live_parallel",
                        "live_parallel_multiple", "live_relevance", "live_irrelevance")
BFCL_MULTI_TURN = ("multi_turn_base", "multi_turn_long_context", "multi_turn_miss_func", "multi_turn_miss_param")
BFCL_LICENCE = "Apache-2.0"


_FILE_CACHE: dict[tuple, tuple[Prompt, ...]] = {}


def _cached(path: Path, key: str, read) -> list[Prompt]:
    """Parse a corpus file once per process (keyed by path, size and mtime). The ``Prompt``
    objects are shared between ``Corpora`` instances: treat them as read-only."""
    st = path.stat()
    k = (str(path.resolve()), st.st_size, st.st_mtime_ns, key)
    hit = _FILE_CACHE.get(k)
    if hit is None:
        hit = tuple(read(path))
        _FILE_CACHE[k] = hit
    return list(hit)


def _subsample(items: list[Prompt], k: int | None, rng: np.random.Generator) -> list[Prompt]:
    if k is None or len(items) <= k:
        return items
    idx = np.sort(rng.choice(len(items), size=k, replace=False))
    return [items[i] for i in idx]


def _load_shared(root: Path) -> Corpora:
    c = Corpora(mode="shared", root=str(root))
    readers = {
        "sharegpt": _read_sharegpt, "hh_rlhf": _read_hh, "alpaca_eval": _read_alpaca_eval,
        "gpteacher_codegen": lambda p: _read_gpteacher(p, "gpteacher_codegen"),
        "gpteacher_toolformer": lambda p: _read_gpteacher(p, "gpteacher_toolformer"),
        "gsm8k": _read_gsm8k,
    }
    for kind, files in SHARED_FILES.items():
        for rel, reader, licence in files:
            p = _find(root, rel)
            if p is None:
                log.warning("corpus file %s not found under %s; skipped", rel, root)
                continue
            items = _cached(p, reader, readers[reader])
            getattr(c, kind).extend(items)
            c.sources.append({"kind": kind, "name": reader, "path": str(p), "rows": len(items), "licence": licence})

    # BFCL: from the bundle if there, else from the installed package
    bfcl_dir = None
    for cand in (root / "distill" / "bfcl",):
        if cand.is_dir() and any(cand.glob("BFCL_v4_*.json*")):
            bfcl_dir = cand
    if bfcl_dir is None:
        hit = _find(root, "BFCL_v4_live_simple.json")
        bfcl_dir = hit.parent if hit else None
    pkg_dir = bfcl_eval_data_dir()
    via_pkg = bfcl_dir is None and pkg_dir is not None
    if via_pkg:
        bfcl_dir = pkg_dir
    if bfcl_dir is not None:
        func_docs = _load_func_docs(pkg_dir / "multi_turn_func_doc" if pkg_dir else None)
        if func_docs is None:
            func_docs = _load_func_docs(bfcl_dir / "multi_turn_func_doc")
        _add_bfcl(c, bfcl_dir, {"tool_use": BFCL_TOOL_CATEGORIES, "agentic_multiturn": BFCL_MULTI_TURN},
                  func_docs, via_pkg=via_pkg)
        if func_docs is not None and not via_pkg:
            c.sources.append({"kind": "agentic_multiturn", "name": "bfcl-eval multi_turn_func_doc (tool schemas)",
                              "path": str(pkg_dir / "multi_turn_func_doc"), "rows": sum(map(len, func_docs.values())),
                              "licence": BFCL_LICENCE, "package": f"bfcl-eval=={_bfcl_version()}"})
    return c


def _add_bfcl(c: Corpora, bfcl_dir: Path, plan: dict[str, Iterable[str]], func_docs, via_pkg: bool,
              with_tools: dict[str, bool] | None = None,
              split_maths: bool = False) -> None:
    for kind, cats in plan.items():
        for cat in cats:
            p = _find(bfcl_dir, f"BFCL_v4_{cat}.json")
            if p is None:
                continue
            if cat.startswith("multi_turn"):
                docs_key = "docs" if func_docs else "nodocs"
                items = _cached(p, f"mt:{docs_key}", lambda q: _read_bfcl_multi_turn(q, func_docs))
            else:
                wt = (with_tools or {}).get(kind, True)
                items = _cached(p, f"single:{wt}", lambda q: _read_bfcl_single(q, wt))
            moved = 0
            if split_maths and kind == "coding":
                keep = []
                for it in items:
                    if it.source == "bfcl:simple_python" and _MATH_RE.search(it.text):
                        c.maths.append(Prompt(messages=it.messages, source=it.source, id=it.id))
                        moved += 1
                    else:
                        keep.append(it)
                items = keep
            getattr(c, kind).extend(items)
            src = {"kind": kind, "name": f"bfcl:{cat}", "path": str(p), "rows": len(items), "licence": BFCL_LICENCE}
            if via_pkg:
                src["package"] = f"bfcl-eval=={_bfcl_version()}"
            c.sources.append(src)
            if moved:
                c.sources.append({**src, "kind": "maths", "name": f"bfcl:{cat} (maths-flavoured questions)",
                                  "rows": moved, "note": "maths-flavoured simple_python questions"})


def _load_bfcl_eval(pkg_dir: Path) -> Corpora:
    c = Corpora(mode="bfcl-eval", root=str(pkg_dir))
    func_docs = _load_func_docs(pkg_dir / "multi_turn_func_doc")
    plan = {
        "benign_chat": ("live_irrelevance", "live_simple", "live_multiple"),
        "coding": ("simple_python", "simple_java", "simple_javascript"),
        "tool_use": ("multiple", "parallel", "parallel_multiple", "irrelevance", "live_parallel",
                     "live_parallel_multiple", "live_relevance"),
        "agentic_multiturn": BFCL_MULTI_TURN,
    }
    _add_bfcl(c, pkg_dir, plan, func_docs, via_pkg=True,
              with_tools={"benign_chat": False, "coding": False}, split_maths=True)
    if func_docs:
        c.sources.append({"kind": "agentic_multiturn", "name": "bfcl-eval multi_turn_func_doc (tool schemas)",
                          "path": str(pkg_dir / "multi_turn_func_doc"), "rows": sum(map(len, func_docs.values())),
                          "licence": BFCL_LICENCE, "package": f"bfcl-eval=={_bfcl_version()}"})
    return c


def load_corpora(data_dir: Path | str | None = None, max_per_kind: int | None = None, seed: int = 0) -> Corpora:
    """Load real prompt texts grouped by kind.

    Args:
        data_dir: the prompts folder of the shared bundle (holding ``benign/`` and ``distill/``).
            None: ``$DISTILLWATCH_PROMPTS_DIR``, else ``../shared/data/prompts`` (see
            ``default_prompts_dir``). When the folder is absent, the BFCL data shipped by the
            ``bfcl-eval`` package is used instead (``mode == "bfcl-eval"``).
        max_per_kind: keep at most this many prompts per kind (a seeded, order-preserving sample).
        seed: seed of that sample.

    Returns:
        ``Corpora``; ``sources`` names every file or package read, with its licence.

    Raises:
        CorpusError: neither the shared bundle nor ``bfcl-eval`` yields any prompt.
    """
    root = Path(data_dir).expanduser() if data_dir is not None else default_prompts_dir()
    tried = []
    corpora: Corpora | None = None
    if root is not None and root.is_dir():
        corpora = _load_shared(root)
        tried.append(str(root))
        if not corpora.available():
            log.warning("no corpus files found under %s; trying bfcl-eval", root)
            corpora = None
    else:
        tried.append(str(root) if root is not None else f"${ENV_VAR} / ../shared/data/prompts")
        log.info("shared prompt corpora not found (%s); falling back to bfcl-eval", tried[-1])
    if corpora is None:
        pkg_dir = bfcl_eval_data_dir()
        if pkg_dir is not None:
            corpora = _load_bfcl_eval(pkg_dir)
        tried.append("bfcl-eval package" + (f" at {pkg_dir}" if pkg_dir else " (not installed)"))
    if corpora is None or not corpora.available():
        raise CorpusError(
            "no prompt corpora found. Tried: " + "; ".join(tried) + f". Point ${ENV_VAR} (or data_dir) at the "
            "shared bundle's prompts folder (with benign/ and distill/), or install the fallback with "
            "`pip install --no-deps bfcl-eval`.")
    rng = np.random.default_rng(seed)
    for k in KINDS:
        setattr(corpora, k, _subsample(getattr(corpora, k), max_per_kind, rng))
    return corpora
