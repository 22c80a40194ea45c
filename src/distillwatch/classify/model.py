"""The shipped prompt classifier: load, score texts, and score Arrow batches for ``Engine.map_batches``.

Storage is pickle-free: ``model/prompt_classifier.npz`` holds NumPy arrays only (loaded with
``allow_pickle=False``) and ``model/prompt_classifier.json`` is the model card (heads,
thresholds, hashing parameters, training-data hashes and validation figures). Both are
written by ``python -m distillwatch.classify.train``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.classify.features import HASH_VERSION, _as_string_array, featurize
from distillwatch.errors import DistillwatchError

MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_NAME = "prompt_classifier"
CHUNK_ROWS = 8192
"""Rows featurised at a time inside one call, so that a 65,536-row batch of long requests never holds all its
token arrays at once (memory grows with CHUNK_ROWS, not with the batch)."""
HEADS: tuple[str, ...] = ("coding", "agentic", "maths", "cot", "rubric", "elicitation", "extraction")
"""Output heads, in column order. ``coding``/``agentic``/``maths``: capability of the request;
``cot``: asks the model to spell out its reasoning; ``rubric``: asks for rubric grading of a
response; ``elicitation``: the request is wrapped in an instruction that harvests long, reasoned,
complete answers (CoT, rubric judgement, exhaustive full solutions), whatever the task inside;
``extraction``: reads like a prompt from a public distillation corpus or a wrapped one rather than
a real user's (largely corpus style: see the leave-one-corpus-out figures in docs/classifier.md)."""
PART_CHECKED_HEADS: tuple[str, ...] = ("cot", "elicitation")
"""Heads whose flag, on a request with a system prompt, must be carried by one part on its own: the
user message alone (system prompt blanked) or the system prompt alone (user message blanked) must
also reach the threshold (:meth:`PromptClassifier.flags`). The model reads the two texts as one
L2-normalised bag of n-grams and has seen system prompts only inside the project's own extraction
wrappers (``docs/classifier.md``, "Known gaps"). A coding-agent product's operating instructions
("read the relevant files", "run the tests", "reply with a short summary") score 0.46-0.49 on
``elicitation`` on their own and a plain coding ask about 0.01, yet together they cleared the 0.539
threshold on about half of the product's requests: a flag that neither the ask nor the instructions
carry. An extraction wrapper placed in the system prompt scores 0.99 or more on its own (held-out
HYDRA system and agent wrappers: 600 of 600) and keeps its flag."""


class ModelFileError(DistillwatchError, ValueError):
    """The classifier's model file or card is missing, unreadable or inconsistent (message names the file)."""


@dataclass(frozen=True)
class PromptClassifier:
    """Linear one-vs-rest heads over hashed word 1-2-gram features (see ``classify.features``).

    Attributes:
        heads: head names, in column order (``HEADS`` for the shipped model).
        weights: float32 array ``(n_features, len(heads))``.
        bias: float32 array ``(len(heads),)``.
        thresholds: float array ``(len(heads),)``: probability at or above which a head's flag is true,
            chosen on the training side (see ``docs/classifier.md``).
        n_features: hash buckets.
        scan_chars: characters kept from each end of a long text.
        card: the model card (dict) as stored.
    """

    heads: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    thresholds: np.ndarray
    n_features: int
    scan_chars: int
    card: dict

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, directory: str | Path | None = None, name: str = MODEL_NAME) -> "PromptClassifier":
        """Load ``<directory>/<name>.npz`` and ``<directory>/<name>.json`` (default: the copy shipped in the package).

        Raises:
            ModelFileError: a file is missing, not a valid npz/JSON, has the wrong shapes, or its
                SHA-256 differs from the one the card records; the message names the file.
        """
        d = Path(directory) if directory is not None else MODEL_DIR
        npz_path, card_path = d / f"{name}.npz", d / f"{name}.json"
        for p in (npz_path, card_path):
            if not p.is_file():
                raise ModelFileError(f"{p}: classifier model file not found (rebuild it with "
                                     "`python -m distillwatch.classify.train`)")
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{card_path}: not a readable JSON model card ({exc})") from exc
        try:
            heads = tuple(card["heads"])
            thresholds = np.array([float(card["thresholds"][h]) for h in heads])
            n_features = int(card["features"]["n_features"])
            scan_chars = int(card["features"]["scan_chars"])
            hash_version = card["features"]["hash"]
            want_sha = card["model_file_sha256"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{card_path}: model card lacks or mangles field {exc}") from exc
        if hash_version != HASH_VERSION:
            raise ModelFileError(f"{card_path}: features.hash is {hash_version!r}, this code computes {HASH_VERSION!r}")
        raw = npz_path.read_bytes()
        got_sha = hashlib.sha256(raw).hexdigest()
        if got_sha != want_sha:
            raise ModelFileError(f"{npz_path}: SHA-256 {got_sha} differs from model_file_sha256 {want_sha} in {card_path}")
        try:
            with np.load(npz_path, allow_pickle=False) as z:
                rows, values, bias = z["rows"], z["values"], z["bias"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ModelFileError(f"{npz_path}: not a valid classifier npz ({exc})") from exc
        k = len(heads)
        if values.ndim != 2 or values.shape[1] != k or rows.shape != (values.shape[0],) or bias.shape != (k,):
            raise ModelFileError(f"{npz_path}: array shapes rows{rows.shape} values{values.shape} bias{bias.shape} "
                                 f"do not fit {k} heads")
        if len(rows) and (rows.min() < 0 or rows.max() >= n_features):
            raise ModelFileError(f"{npz_path}: row index outside [0, {n_features})")
        weights = np.zeros((n_features, k), dtype=np.float32)
        weights[rows] = values.astype(np.float32)
        return cls(heads=heads, weights=weights, bias=bias.astype(np.float32), thresholds=thresholds,
                   n_features=n_features, scan_chars=scan_chars, card=card)

    # ------------------------------------------------------------------ scoring
    def decision_function(self, system_texts, user_texts) -> np.ndarray:
        """Linear scores (log-odds), float32 array ``(n, len(heads))``.

        Raises:
            TypeError: a column is not strings. ValueError: the two inputs differ in length.
        """
        s = _as_string_array(system_texts, "system_text")
        u = _as_string_array(user_texts, "user_text")
        if len(s) != len(u):
            raise ValueError(f"system_text has {len(s)} rows but user_text has {len(u)}")
        out = np.empty((len(s), len(self.heads)), dtype=np.float32)
        for lo in range(0, len(s), CHUNK_ROWS):  # bounded memory: one chunk's tokens at a time
            X = featurize(s.slice(lo, CHUNK_ROWS), u.slice(lo, CHUNK_ROWS), self.n_features, self.scan_chars)
            out[lo:lo + X.shape[0]] = np.asarray(X @ self.weights, dtype=np.float32) + self.bias
        return out

    def predict_proba(self, system_texts, user_texts) -> np.ndarray:
        """Per-head probabilities in [0, 1], float32 array ``(n, len(heads))``, columns in ``self.heads`` order.

        Args:
            system_texts, user_texts: equal-length sequences or Arrow arrays of strings (None = '').

        Raises:
            TypeError: a column is not strings. ValueError: the two inputs differ in length.
        """
        s = self.decision_function(system_texts, user_texts)
        return (1.0 / (1.0 + np.exp(-np.clip(s, -60, 60)))).astype(np.float32)

    def flags(self, system_texts, user_texts, proba: np.ndarray | None = None) -> np.ndarray:
        """Boolean flags ``(n, len(heads))``: probability >= the head's threshold; for a request with a
        non-empty system prompt, each head in :data:`PART_CHECKED_HEADS` must also reach its threshold
        on one part alone, the user message (system prompt blanked) or the system prompt (user message
        blanked).

        The system prompt alone is scored once per distinct system prompt of the call, the user
        message alone only for flagged rows whose system prompt does not carry the flag.

        Args:
            system_texts, user_texts: as for :meth:`predict_proba`.
            proba: :meth:`predict_proba` of the same texts, when already computed.

        Raises:
            TypeError: a column is not strings. ValueError: the inputs differ in length.
        """
        s = _as_string_array(system_texts, "system_text")
        u = _as_string_array(user_texts, "user_text")
        p = self.predict_proba(s, u) if proba is None else proba
        thr = self.thresholds.astype(np.float32)
        out = p >= thr
        cols = np.array([self.heads.index(h) for h in PART_CHECKED_HEADS if h in self.heads], dtype=np.int64)
        if not len(cols) or not len(s):
            return out
        has_system = np.asarray(pc.greater(pc.utf8_length(s), 0), dtype=bool)
        rows = np.nonzero(out[:, cols].any(axis=1) & has_system)[0]
        if not len(rows):
            return out
        enc = s.take(pa.array(rows)).dictionary_encode()
        sys_alone = self.predict_proba(enc.dictionary, pa.array([""] * len(enc.dictionary), pa.string()))
        carried = (sys_alone[:, cols] >= thr[cols])[np.asarray(enc.indices)]  # (len(rows), len(cols))
        need = np.nonzero(~carried.all(axis=1))[0]
        if len(need):
            user_alone = self.predict_proba(pa.array([""] * len(need), pa.string()), u.take(pa.array(rows[need])))
            carried[need] |= user_alone[:, cols] >= thr[cols]
        out[np.ix_(rows, cols)] &= carried
        return out

    def output_schema(self) -> pa.Schema:
        """Schema of :meth:`classify_batch`'s result: ``request_id`` string, ``p_<head>`` float32 per head,
        ``is_<head>`` bool per head (:meth:`flags`; ``is_agentic`` also when ``n_tools > 0``)."""
        fields = [pa.field("request_id", pa.string())]
        fields += [pa.field(f"p_{h}", pa.float32()) for h in self.heads]
        fields += [pa.field(f"is_{h}", pa.bool_()) for h in self.heads]
        return pa.schema(fields)

    def classify_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Score one Arrow batch; the function to pass to ``Engine.map_batches`` with :meth:`output_schema`.

        Args:
            batch: columns ``request_id`` (string), ``system_text`` (string, null = ''),
                ``user_text`` (string, null = ''), ``n_tools`` (integer, null = 0: number of tool
                schemas offered with the request).

        Returns:
            A batch with ``output_schema()``, one row per input row in the same order. A request
            offering tools is agentic by construction (as in ``signals.request``), so
            ``is_agentic`` is also true when ``n_tools > 0``; ``p_agentic`` stays the text-only
            probability.

        Raises:
            KeyError: a required column is missing (message lists the batch's columns).
            TypeError: a text column is not strings, or ``n_tools`` is not integer.
        """
        names = batch.schema.names
        for col in ("request_id", "system_text", "user_text", "n_tools"):
            if col not in names:
                raise KeyError(f"classify_batch: column {col!r} missing; batch has {names}")
        n_tools = batch.column("n_tools")
        if not pa.types.is_integer(n_tools.type) and not pa.types.is_null(n_tools.type):
            raise TypeError(f"classify_batch: n_tools must be integer, got {n_tools.type}")
        rid = batch.column("request_id")
        if not pa.types.is_string(rid.type):
            rid = rid.cast(pa.string())
        p = self.predict_proba(batch.column("system_text"), batch.column("user_text"))
        flags = self.flags(batch.column("system_text"), batch.column("user_text"), proba=p)
        if "agentic" in self.heads:
            tools = np.asarray(n_tools.fill_null(0) if n_tools.null_count else n_tools, dtype=np.int64) > 0 \
                if not pa.types.is_null(n_tools.type) else np.zeros(len(p), dtype=bool)
            flags[:, self.heads.index("agentic")] |= tools
        cols: list[Any] = [rid]
        cols += [pa.array(p[:, j], type=pa.float32()) for j in range(len(self.heads))]
        cols += [pa.array(flags[:, j], type=pa.bool_()) for j in range(len(self.heads))]
        return pa.RecordBatch.from_arrays(cols, schema=self.output_schema())
