"""Stage 2: per-request features (``req_features`` table) from the canonical ``requests`` table.

One SQL pass evaluates every registered request signal; IP intelligence is looked up once per
distinct client IP; prompt templates are mined in SQL and near-duplicate skeletons merged with
MinHash LSH with exact verification and leader peeling over the distinct skeletons only
(:mod:`distillwatch.features.sketches`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distillwatch.engine.base import Engine
from distillwatch.signals.base import SIGNALS
from distillwatch.features.sketches import near_duplicate_roots_csr
from distillwatch.signals.request import PromptTemplateSignal, ends


def add_ip_intel(engine: Engine, intel) -> int:
    """Create table ``ip_intel`` (one row per distinct ``client_ip``) using ``intel.lookup``.

    Returns the number of distinct IPs looked up.
    """
    ips = engine.table("SELECT DISTINCT client_ip FROM requests WHERE client_ip IS NOT NULL ORDER BY 1")
    looked = intel.lookup(ips.column(0).to_pylist())
    engine.register("ip_intel", looked)
    return ips.num_rows


def build_request_features(engine: Engine) -> None:
    """Create ``req_features``: request metadata plus every request signal's columns.

    Requires tables ``requests`` and ``ip_intel``. The trained prompt classifier runs first, over
    Arrow batches, into ``req_classes`` (:func:`classify_requests`). Columns added by signals are
    listed in each signal's ``columns()``; ``template_id`` comes from :func:`mine_templates`.
    """
    classify_requests(engine)
    cols: dict[str, str] = {}
    derived: dict[str, str] = {}
    for sid, cls in SIGNALS.items():
        if cls.scope == "request" and hasattr(cls, "columns"):
            sig = cls()
            cols.update(sig.columns())
            derived.update(sig.derived() if hasattr(sig, "derived") else {})
    select = ",\n  ".join(f"{expr} AS {name}" for name, expr in cols.items())
    outer = "".join(f", {expr} AS {name}" for name, expr in derived.items())
    engine.run("request_signals", f"""
        CREATE OR REPLACE TABLE req_features AS
        SELECT *{outer} FROM (
        SELECT r.request_id, r.line_no, r.ts, epoch(r.ts) AS ts_s, r.account_id, r.api_key_id, r.org_id, r.client_ip,
               r.user_agent, r.model, r.n_messages, r.n_user_turns, r.n_assistant_turns, r.n_tool_turns,
               r.is_continuation,
               r.max_tokens, r.temperature, r.stream, r.input_tokens, r.output_tokens, r.status,
               length(r.user_text) AS user_chars, len(r.tool_names) AS n_tools,
               {select}
        FROM requests r LEFT JOIN ip_intel i ON r.client_ip = i.ip
        LEFT JOIN req_classes c ON c.request_id = r.request_id)""")
    mine_templates(engine)


def classify_requests(engine: Engine, table: str = "req_classes") -> None:
    """Create ``table`` with the trained prompt classifier's output for every request.

    Columns: ``request_id``, ``p_<head>`` (float32) and ``is_<head>`` (bool) for each head of
    :data:`distillwatch.classify.HEADS`. Vectorised over Arrow batches (no loop per row).

    Raises:
        distillwatch.classify.ModelFileError: the shipped model file is missing or corrupt.
        EngineError: the query or the batch function failed.
    """
    from distillwatch.classify import PromptClassifier
    from distillwatch.signals.request import CLASSIFIER_INPUT_SQL

    clf = PromptClassifier.load()
    engine.map_batches("classify", table, CLASSIFIER_INPUT_SQL, clf.classify_batch, clf.output_schema())


def mine_templates(engine: Engine, sig: PromptTemplateSignal | None = None) -> int:
    """Add ``template_id`` and ``skeleton`` to ``req_features``; return the number of templates.

    Method (see :class:`~distillwatch.signals.request.PromptTemplateSignal`): sentences are split
    on line breaks and ``. ? ! : ;``; a sentence is template text if it appears in at least
    ``min_requests`` requests. Near-duplicate skeletons (Jaccard over sentence-hash sets at or
    above ``lsh_threshold``) are grouped by :func:`~distillwatch.features.sketches.near_duplicate_roots_csr`
    (MinHash LSH candidates, exact verification, leader peeling within each bucket).
    """
    sig = sig or PromptTemplateSignal()
    norm = ("trim(regexp_replace(regexp_replace(lower(x), '[0-9]+', '0', 'g'), '\\s+', ' ', 'g'))")
    engine.run("templates", f"""
        CREATE OR REPLACE TABLE req_sentences AS
        WITH parts AS (
          SELECT request_id,
                 string_split_regex({ends('user_text')}, '[\\n.?!:;]+') AS us,
                 string_split_regex(left(system_text, 4000), '[\\n.?!:;]+') AS ss
          FROM requests),
        picked AS (
          SELECT request_id,
                 list_concat(ss[1:8], CASE WHEN len(us) <= 8 THEN us ELSE list_concat(us[1:4], us[-4:]) END) AS sents
          FROM parts),
        flat AS (
          SELECT request_id, unnest(list_transform(sents, lambda x, i: struct_pack(s := {norm}, pos := i))) AS e
          FROM picked)
        SELECT request_id, e.pos AS pos, left(md5(e.s), 16) AS h, e.s AS s
        FROM flat WHERE length(e.s) >= {int(sig.min_sentence_chars)}""")
    engine.run("templates", f"""
        CREATE OR REPLACE TABLE template_sentences AS
        SELECT h, any_value(s) AS s, count(DISTINCT request_id) AS n_requests
        FROM req_sentences GROUP BY h HAVING count(DISTINCT request_id) >= {int(sig.min_requests)}""")
    engine.run("templates", """
        CREATE OR REPLACE TABLE req_skeleton AS
        SELECT request_id, array_to_string(list_sort(list_distinct(list(rs.h))), ',') AS hset,
               array_to_string(list_transform(list_sort(list(struct_pack(p := rs.pos, s := ts.s))), lambda x: x.s),
                               ' … ') AS skeleton
        FROM req_sentences rs JOIN template_sentences ts USING (h)
        GROUP BY request_id""")
    sk = engine.table("SELECT hset, count(*) AS n FROM req_skeleton GROUP BY hset ORDER BY n DESC, hset")
    ids = _merge_near_duplicates(sk.column("hset"), sig.lsh_threshold)
    engine.register("skeleton_ids", pa.table({"hset": sk.column("hset"), "template_id": ids}))
    engine.run("templates", """
        CREATE OR REPLACE TABLE req_features AS
        SELECT f.*, k.template_id, s.skeleton
        FROM req_features f
        LEFT JOIN req_skeleton s USING (request_id)
        LEFT JOIN skeleton_ids k USING (hset)""")
    return len(pc.unique(ids))


def _merge_near_duplicates(hsets, threshold: float) -> pa.Array:
    """Map each skeleton (comma-joined 16-hex-digit sentence hashes, most frequent first) to a template id.

    Args:
        hsets: Arrow string array or chunked array (or a list of str) of skeleton hash sets.
        threshold: Jaccard threshold for near-duplicates.

    Near-duplicates are grouped by :func:`~distillwatch.features.sketches.near_duplicate_roots_csr`.
    The id of a group is ``t_`` + the first 12 hex digits of the MD5 of its most frequent member.
    Returns an Arrow string array of template ids, one per skeleton (MD5s are computed once per group).

    Raises:
        ValueError: an element is not a comma-joined list of 16-hex-digit hashes.
    """
    import hashlib

    arr = _string_array(hsets)
    tokens, offsets = hex_token_sets(arr)
    roots = near_duplicate_roots_csr(tokens, offsets, threshold)
    uniq, slot = np.unique(roots, return_inverse=True)
    names = pa.array(["t_" + hashlib.md5(h.encode()).hexdigest()[:12] for h in arr.take(pa.array(uniq)).to_pylist()],
                     type=pa.string())
    return names.take(pa.array(slot.ravel()))


def _string_array(values) -> pa.Array:
    """One Arrow array from an Arrow array, a chunked array or a list of str (nulls kept)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())


_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)


def hex_token_sets(hsets) -> tuple[np.ndarray, np.ndarray]:
    """Parse comma-joined lists of 16-hex-digit hashes into CSR form, without a Python loop per row.

    Args:
        hsets: Arrow string array or chunked array, or a list of str, e.g. ``["00ff...,12ab..."]``.

    Returns:
        ``(tokens, offsets)``: uint64 array of all hashes in order, and int64 row offsets of
        shape ``(len(hsets) + 1,)``.

    Raises:
        ValueError: a hash is not exactly 16 lower-case hex digits, or an element is null.
    """
    arr = _string_array(hsets)
    if arr.null_count:
        raise ValueError("skeleton hash sets contain a null")
    arr = arr.cast(pa.string())
    # in slices of HEX_CHUNK strings: the split lists and the digit matrix take about 40 bytes per
    # hash, 4 GB at once for the 90M hashes of a 28.8M-request log
    toks, lens = [], []
    for lo in range(0, len(arr), HEX_CHUNK):
        t, o = _hex_tokens(arr.slice(lo, HEX_CHUNK))
        toks.append(t)
        lens.append(np.diff(o))
    tokens = np.concatenate(toks) if toks else np.zeros(0, np.uint64)
    offsets = np.concatenate(([0], np.cumsum(np.concatenate(lens)) if lens else [])).astype(np.int64)
    return tokens, offsets


HEX_CHUNK = 1 << 20
"""Strings parsed at once by :func:`hex_token_sets`."""


def _hex_tokens(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hex_token_sets` on one slice (no nulls)."""
    lists = pc.split_pattern(arr, ",")
    offsets = np.asarray(lists.offsets).astype(np.int64)
    offsets -= offsets[0]
    flat = lists.flatten()
    offs = np.asarray(pc.utf8_length(flat)) if len(flat) else np.zeros(0, np.int32)
    if len(flat) and not (offs == 16).all():
        raise ValueError("skeleton hash sets must hold 16-hex-digit hashes separated by commas")
    start = flat.offset
    data_off = np.frombuffer(flat.buffers()[1], dtype=np.int32)[start:start + len(flat) + 1]
    raw = np.frombuffer(flat.buffers()[2], dtype=np.uint8)[data_off[0]:data_off[-1]] if len(flat) else np.zeros(0, np.uint8)
    nib = _HEX[raw]
    if (nib == 255).any():
        raise ValueError("skeleton hash sets must hold lower-case hex digits only")
    nib = nib.reshape(-1, 16)
    # one column at a time: widening the whole (tokens x 16) matrix to uint64 first took 128 bytes
    # per token (6 GB for the 50M sentence hashes of a 16M-request log)
    tokens = np.zeros(len(nib), dtype=np.uint64)
    for j in range(16):
        tokens <<= np.uint64(4)
        tokens |= nib[:, j]
    return tokens, offsets
