"""Per-request features for the real-time path, with the batch pipeline's definitions.

The lexicons (``LEX_*``), length thresholds and the capability priority order are imported from
:mod:`distillwatch.signals.request` (the SQL signals the batch scan runs), and compiled here with
RE2 (the ``google-re2`` bindings: the regular-expression engine DuckDB's ``regexp_matches`` uses,
case-insensitive like its ``'i'`` option; about 8x faster than Python's ``re`` on these lexicons). Texts are read
as in the batch ingest: ``system_text`` = every system/developer message joined by newlines,
``user_text`` = the last user message (or ``prompt``); long texts are cut to their first and last
``SCAN_CHARS`` characters (:func:`distillwatch.signals.request.ends`).
"""

from __future__ import annotations

import hashlib
import re

import re2
from dataclasses import dataclass

from distillwatch.schema import HIGH_VALUE_CAPABILITIES
from distillwatch.signals.request import (
    CLASSIFIER_MIN_CHARS,
    LEX_AGENTIC,
    LEX_COT,
    LEX_CODING,
    LEX_LONG,
    LEX_MATHS,
    LEX_RUBRIC,
    LONG_MAX_TOKENS,
    LONG_PROMPT_CHARS,
    SCAN_CHARS,
)

_RE2_OPTS = re2.Options()
_RE2_OPTS.case_sensitive = False
_RE2_OPTS.never_capture = True   # only "does it match" is needed
_RX = {k: re2.compile(v.encode(), _RE2_OPTS) for k, v in
       {"coding": LEX_CODING, "agentic": LEX_AGENTIC, "long": LEX_LONG, "cot": LEX_COT, "rubric": LEX_RUBRIC,
        "maths": LEX_MATHS}.items()}
_HV = frozenset(HIGH_VALUE_CAPABILITIES)
_SENT_SPLIT = re.compile(r"[\n.?!:;]+")
_DIGITS = re.compile(r"[0-9]")
_WS = re.compile(r"\s+")
MIN_SENTENCE_CHARS = 16
"""Sentences shorter than this are not template evidence (as ``PromptTemplateSignal.min_sentence_chars``)."""


def ends(text: str, n: int = SCAN_CHARS) -> str:
    """Python twin of :func:`distillwatch.signals.request.ends`: ``text`` or its first and last ``n`` characters."""
    return text if len(text) <= 2 * n else text[:n] + "\n" + text[-n:]


def _content(c) -> str:
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    return "\n".join(p.get("text", "") for p in c if isinstance(p, dict) and isinstance(p.get("text"), str))


def _norm(sentence: str) -> str:
    return _WS.sub(" ", _DIGITS.sub("0", sentence.lower())).strip()


@dataclass(frozen=True)
class RequestFeatures:
    """The per-request signals the streaming state needs.

    Attributes:
        capability: batch capability class (priority rubric > agentic > coding > long > reasoning > maths > chat).
        is_cot, is_rubric: chain-of-thought elicitation / rubric grading, as ``request.capability``.
        cot_from_system: the elicitation sits only in the system prompt, as the batch
            ``cot_from_system`` column of ``request.cot_elicitation``: ``is_cot``, the CoT lexicon
            matches the system text and does not match the user text.
        is_hv: capability in :data:`distillwatch.schema.HIGH_VALUE_CAPABILITIES`.
        has_content: False for a ``messages_digest``-only request (no text to read).
        client_fp: hash of user agent, max_tokens, temperature, stream, tool names and system prompt.
        system_hash: hash of the system prompt, or ``None`` without one.
        template_keys: hashes of the normalised first and last sentence of the user text (>= 16
            characters), the streaming stand-in for the batch template skeleton.
    """

    capability: str
    is_cot: bool
    is_rubric: bool
    is_hv: bool
    has_content: bool
    client_fp: str
    system_hash: str | None
    template_keys: tuple[str, ...]
    cot_from_system: bool = False


def _template_keys(text: str, span: int = 1000) -> tuple[str, ...]:
    """Hashes of the first and last normalised sentence (>= 16 characters) of ``text``; ``()`` when
    it has fewer than two such sentences. Only the first and last ``span`` characters are split."""
    if len(text) <= 2 * span:
        sents = [t for t in (_norm(x) for x in _SENT_SPLIT.split(text)) if len(t) >= MIN_SENTENCE_CHARS]
        first, last = (sents[0], sents[-1]) if len(sents) >= 2 else (None, None)
    else:
        head = [t for t in (_norm(x) for x in _SENT_SPLIT.split(text[:span])[:-1]) if len(t) >= MIN_SENTENCE_CHARS]
        tail = [t for t in (_norm(x) for x in _SENT_SPLIT.split(text[-span:])[1:]) if len(t) >= MIN_SENTENCE_CHARS]
        first, last = (head[0], tail[-1]) if head and tail else (None, None)
    if first is None:
        return ()
    return tuple(dict.fromkeys((_h(first), _h(last))))


def _h(s: str) -> str:
    return hashlib.md5(s.encode("utf-8", "surrogatepass")).hexdigest()[:16]


_CLF = None


def _classifier_flags(system_text: str, user_text: str) -> tuple[bool, bool]:
    """The trained prompt classifier's ``cot`` and ``elicitation`` flags for one request (as the batch
    ``request.prompt_classifier`` computes them over Arrow batches: same model, same thresholds, same
    part check on system prompts, :meth:`~distillwatch.classify.model.PromptClassifier.flags`)."""
    import pyarrow as pa

    from distillwatch.classify import PromptClassifier

    global _CLF
    if _CLF is None:
        _CLF = PromptClassifier.load()
    flags = _CLF.flags(pa.array([system_text]), pa.array([user_text]))[0]
    return bool(flags[_CLF.heads.index("cot")]), bool(flags[_CLF.heads.index("elicitation")])


def request_features(ev) -> RequestFeatures:
    """Compute :class:`RequestFeatures` for a :class:`~distillwatch.realtime.models.RequestEvent`.

    Chain-of-thought elicitation is the lexicon or the trained classifier's ``cot`` /
    ``elicitation`` heads, as in batch ``request.cot_elicitation``; the ``reasoning`` capability
    uses the lexicon alone, as batch ``request.capability`` does.
    """
    system_parts, user_text, n_tool_turns = [], None, 0
    if ev.messages:
        for m in ev.messages:
            if m.role in ("system", "developer"):
                system_parts.append(_content(m.content))
            elif m.role == "user":
                user_text = _content(m.content)
            elif m.role in ("tool", "function"):
                n_tool_turns += 1
    if user_text is None:
        user_text = ev.prompt or ""
    system_text = "\n".join(system_parts)
    tool_names = sorted(
        n for t in (ev.tools or [])
        for n in (t.get("name"), (t.get("function") or {}).get("name") if isinstance(t.get("function"), dict) else None)
        if isinstance(n, str))
    txt = ends(system_text + " " + user_text).encode("utf-8", "surrogatepass")   # RE2 on UTF-8 bytes: no offset mapping
    ut_s = ends(user_text)
    ut = ut_s.encode("utf-8", "surrogatepass")
    # Same flags and priority as the batch ``request.capability``; a lexicon is only run when its
    # answer can still change the result (CoT and rubric always are: they are counted per account).
    f_rubric = _RX["rubric"].search(txt) is not None
    f_cot_lex = _RX["cot"].search(txt) is not None
    c_cot, c_elicit = _classifier_flags(system_text, user_text)
    long_enough = len(system_text) + len(user_text) >= CLASSIFIER_MIN_CHARS
    f_cot = f_cot_lex or (long_enough and (c_cot or c_elicit))
    if f_rubric:
        cap = "rubric_grading"
    elif tool_names or n_tool_turns > 0 or _RX["agentic"].search(txt) is not None:
        cap = "agentic"
    elif _RX["coding"].search(txt) is not None:
        cap = "coding"
    elif ((ev.max_tokens or 0) >= LONG_MAX_TOKENS or len(user_text) >= LONG_PROMPT_CHARS
          or _RX["long"].search(ut) is not None):
        cap = "long_horizon"
    elif f_cot_lex:
        cap = "reasoning"
    elif _RX["maths"].search(ut) is not None:
        cap = "maths"
    else:
        cap = "general_chat"
    sys_h = _h(system_text) if system_text else None
    temp = "-" if ev.temperature is None else repr(round(float(ev.temperature), 3))
    fp = _h("|".join([ev.user_agent or "-", "-" if ev.max_tokens is None else str(ev.max_tokens), temp,
                      "-" if ev.stream is None else str(ev.stream).lower(), ",".join(tool_names),
                      sys_h or "-"]))
    keys = _template_keys(ut_s)
    has_content = bool(ev.messages) or ev.prompt is not None
    from_system = (f_cot and _RX["cot"].search(ends(system_text).encode("utf-8", "surrogatepass")) is not None
                   and _RX["cot"].search(ut) is None)
    return RequestFeatures(cap, f_cot, f_rubric, cap in _HV, has_content, fp, sys_h, keys, from_system)
