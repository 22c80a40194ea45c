"""Conversation builders: how one piece of real content becomes one or more requests.

* ``chat_turns``: a real multi-turn conversation replayed turn by turn, each request carrying
  the history so far (real assistant replies included), as chat clients send it.
* ``agent_loop``: an agent run: the task, then (assistant tool call, tool result) pairs that
  grow with every step. Tool calls and results are short placeholders, never long fake text.
* ``bfcl_turns``: a BFCL multi-turn task sent turn by turn, the calls between turns taken
  from the row's ground-truth call path.
"""

from __future__ import annotations

import math
import re
from typing import Iterator

import numpy as np
import orjson

from distillwatch.corpora import Prompt
from distillwatch.simulate import templates as T

_CALC = re.compile(r"<<[^>]*>>")


def reference_answer(p: Prompt) -> str | None:
    """A real answer to ``p`` from its corpus: the reference, or the first assistant reply."""
    if p.reference:
        return _CALC.sub("", p.reference).strip()
    for i, m in enumerate(p.messages[:-1]):
        if m["role"] == "user" and p.messages[i + 1]["role"] == "assistant":
            return p.messages[i + 1]["content"]
    return None


def task_tools(p: Prompt, limit: int = 10) -> list[dict] | None:
    """The tools sent with a task: those its ground-truth calls use, then the others in corpus
    order, at most ``limit``. BFCL multi-turn rows offer every function of two or three APIs
    (often 30+ schemas, ~20 kB); agent builders usually trim the list. Deterministic per task."""
    if not p.tools:
        return None
    if len(p.tools) <= limit:
        return p.tools
    used = set(p.calls or ())
    first = [t for t in p.tools if t["name"] in used]
    rest = [t for t in p.tools if t["name"] not in used]
    return (first + rest)[: max(limit, len(first))]


def chat_turns(p: Prompt, rng: np.random.Generator, max_turns: int, p_continue: float = 0.6
               ) -> Iterator[tuple[list[dict], int | None]]:
    """Yield ``(messages, real_reply_tokens)`` for the first turns of a real conversation.

    The number of turns is geometric (``p_continue`` of going on after each turn) and at most
    ``max_turns``. ``real_reply_tokens`` is the length of the real next reply / 4, or None.
    """
    msgs = p.messages
    user_idx = [i for i, m in enumerate(msgs) if m["role"] == "user"]
    n = 1
    while n < min(len(user_idx), max_turns) and rng.random() < p_continue:
        n += 1
    for k in range(n):
        i = user_idx[k]
        nxt = msgs[i + 1] if i + 1 < len(msgs) and msgs[i + 1]["role"] == "assistant" else None
        yield msgs[: i + 1], (int(math.ceil(len(nxt["content"]) / 4)) if nxt else None)


def _call(name: str, rng: np.random.Generator) -> str:
    if name in ("read_file", "list_dir"):
        args = {"path": T.AGENT_FILES[int(rng.integers(len(T.AGENT_FILES)))]}
    elif name == "run_command":
        args = {"command": T.AGENT_COMMANDS[int(rng.integers(len(T.AGENT_COMMANDS)))]}
    elif name == "search_code":
        args = {"pattern": ("TODO", "def main", "import", "class ", "fetch(", "SELECT")[int(rng.integers(6))]}
    elif name == "write_file":
        args = {"path": T.AGENT_FILES[int(rng.integers(len(T.AGENT_FILES)))], "contents": "<omitted>"}
    elif name == "apply_patch":
        args = {"patch": "<omitted>"}
    else:
        args = {}
    return orjson.dumps({"tool_call": {"name": name, "arguments": args}}).decode()


def _result(name: str, rng: np.random.Generator) -> str:
    opts = T.AGENT_RESULTS.get(name, ("ok",))
    return opts[int(rng.integers(len(opts)))]


def agent_loop(system: str | None, task: str, n_steps: int, rng: np.random.Generator,
               tool_names: list[str]) -> Iterator[list[dict]]:
    """Yield the messages of each step of an agent run on ``task``."""
    base: list[dict] = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": task}]
    history: list[dict] = []
    for _ in range(n_steps):
        yield base + history
        name = tool_names[int(rng.integers(len(tool_names)))]
        history = history + [
            {"role": "assistant", "content": _call(name, rng)},
            {"role": "tool", "content": _result(name, rng)},
        ]


def bfcl_turns(system: str | None, p: Prompt, rng: np.random.Generator,
               first_user: str | None = None) -> Iterator[list[dict]]:
    """Yield the messages of each user turn of a BFCL multi-turn task. ``first_user`` replaces
    the first user message (e.g. the real turn wrapped in a campaign template)."""
    turns = p.user_turns
    calls = list(p.calls or [])
    tool_names = [t["name"] for t in (p.tools or [])] or ["noop"]
    msgs: list[dict] = [{"role": "system", "content": system}] if system else []
    for k, turn in enumerate(turns):
        msgs = msgs + [{"role": "user", "content": first_user if (k == 0 and first_user) else turn}]
        yield msgs
        n_calls = 1 + int(rng.integers(2))
        for _ in range(n_calls):
            name = calls.pop(0) if calls else tool_names[int(rng.integers(len(tool_names)))]
            msgs = msgs + [
                {"role": "assistant", "content": orjson.dumps({"tool_call": {"name": name}}).decode()},
                {"role": "tool", "content": ("ok", "{\"result\": \"success\"}", "done", "[]",
                                             "{\"status\": true}")[int(rng.integers(5))]},
            ]
        msgs = msgs + [{"role": "assistant", "content": "Done."}]
