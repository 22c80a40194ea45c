"""Stage 4: link accounts through the artifacts they share and find communities.

The graph is bipartite: account nodes and artifact nodes (a payment fingerprint, a signup IP, a
client IP on one UTC day, a /24 on one day, a client fingerprint, a generation-parameter
fingerprint, a system-prompt hash, a prompt template, a lockstep group). An account-artifact edge weighs ``kind weight x rarity x support``:

* rarity = ``ln(N / df) / ln(N)`` where ``df`` is the number of accounts holding the artifact
  (inverse document frequency, normalised to 0..1);
* support = ``sqrt(share of the account's requests carrying the artifact)`` (1 for account-level
  artifacts such as cards);
* artifacts held by one account are dropped, and so are *hubs* held by more than
  ``max(hub_min, hub_fraction * N)`` accounts, so one campus NAT or one popular SDK cannot merge
  everyone; except *extraction-pure* hubs: request-level artifacts (template, system prompt,
  client or parameter fingerprint) whose requests ask for reasoning traces, rubric grading
  or long outputs (``EXTRACTION_REQUEST_SQL``) in a share >= ``hub_pure_share`` and whose holders
  are, in the same share, accounts whose own traffic is mostly such requests. A template or
  client fingerprint that thousands of accounts share and that carries almost only extraction
  requests is the campaign itself (one stream split over 20,000 accounts), not a crowd; a popular
  SDK's default fingerprint carries everyone's ordinary traffic and stays pruned.

No account pair is ever enumerated: the bipartite graph has one edge per (account, artifact).
Communities come from the Leiden algorithm (Traag, Waltman & van Eck 2019, "From Louvain to
Leiden") as implemented in igraph's ``community_leiden``, modularity objective, fixed seed.
Lockstep groups come from SynchroTrap-style co-activity (Cao et al., CCS 2014): accounts whose
sets of active hours have Jaccard similarity >= ``lockstep_jaccard`` (MinHash LSH, exact verification).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.features.account_features import EXTRACTION_REQUEST_SQL
from distillwatch.features.sketches import near_duplicate_roots_csr


@dataclass
class LinkParams:
    """Linking parameters. Kind weights and families are per artifact kind."""

    kind_weights: dict[str, float] = field(default_factory=lambda: {
        "payment": 1.0, "signup_ip": 0.6, "ip_day": 0.6, "prefix_day": 0.3, "client_fp": 0.5, "param_fp": 0.3,
        "system_prompt": 0.7, "template": 0.8, "lockstep": 0.6})
    hub_fraction: float = 0.05
    hub_min: int = 50
    hub_pure_share: float = 0.9
    lockstep_jaccard: float = 0.5
    lockstep_min_hours: int = 8
    lockstep_max_coverage: float = 0.6
    resolution: float = 1.0
    seed: int = 0


PURE_KINDS = ("template", "system_prompt", "client_fp", "param_fp")
"""Request-level artifact kinds that can be *extraction-pure* (network addresses cannot: residential
proxies exit through real households)."""

REQUEST_ARTIFACTS = (
    ("template", "template_id", "template_id IS NOT NULL"),
    ("system_prompt", "system_hash", "system_hash IS NOT NULL"),
    ("client_fp", "client_fp", "TRUE"),
    ("param_fp", "param_fp", "TRUE"),
    ("ip_day", "client_ip || '@' || strftime(ts, '%Y-%m-%d')", "client_ip IS NOT NULL"),
    ("prefix_day", "ip_prefix || '@' || strftime(ts, '%Y-%m-%d')", "ip_prefix IS NOT NULL"),
)
"""Request-level artifact kinds: (kind, SQL expression of the artifact over ``req_features``, row filter)."""


def build_artifacts(engine: Engine, has_accounts: bool, params: LinkParams) -> pd.DataFrame:
    """Create ``account_artifacts`` (account_id, kind, artifact, n, n_ext, support, ext_share) and return the kept edges.

    Returns:
        a DataFrame with one row per kept (account, artifact) edge, lockstep groups included:
        ``account_id, kind, artifact, n`` (the account's requests carrying it; 1 for cards and signup
        IPs), ``df`` (accounts holding it), ``pure`` (bool), ``extraction_share`` (templates only,
        else NaN), ``weight`` and ``art_code`` (int32: the (kind, artifact) pair's rank in sorted
        order); ordered by kind, artifact, account, lockstep rows last. ``account_id``, ``kind`` and
        ``artifact`` are pandas Categoricals (``account_id``'s categories are the accounts, sorted):
        about 40 bytes per edge instead of three strings. ``attrs`` hold ``hub_limit`` and
        ``n_accounts``.

    Raises:
        EngineError: a step failed.

    ``n_ext`` counts the account's requests with the artifact that are extraction requests and
    ``ext_share`` is the account's share of extraction requests overall. An artifact is
    *extraction-pure* when both at least ``hub_pure_share`` of its requests are extraction
    requests and at least ``hub_pure_share`` of its holders send mostly (>= 50 %) extraction
    requests: a campaign's heavy traffic on a popular SDK default must not make the hundreds of
    light, ordinary users of that default look like its members. Kept
    edges have 2 <= df <= hub limit, or df above it on an extraction-pure hub; ``weight`` is
    computed as described in the module doc.
    Template edges carry ``extraction_share``, the share of the template's requests that ask for
    reasoning traces, rubric grading or long outputs (needs table ``template_accounts``).
    """
    engine.run("link:artifacts", f"""
        CREATE OR REPLACE TABLE link_acct_n AS
        SELECT account_id, count(*) AS n_req, avg(({EXTRACTION_REQUEST_SQL})::INT) AS ext_share
        FROM req_features GROUP BY account_id""")
    # one aggregation per kind, each into its own table, then one plain concatenation: a single
    # GROUP BY over the union of all kinds (six rows per request) ran out of memory at 16M
    # requests under a 4 GB cap (docs/benchmarks.md)
    parts = []
    for kind, expr, where in REQUEST_ARTIFACTS:
        parts.append(f"link_art_{kind}")
        engine.run("link:artifacts", f"""
            CREATE OR REPLACE TABLE link_art_{kind} AS
            WITH r AS (SELECT account_id, {expr} AS artifact, ({EXTRACTION_REQUEST_SQL})::INT AS ext
                       FROM req_features WHERE {where}),
            agg AS (SELECT account_id, artifact, count(*) AS n, sum(ext) AS n_ext FROM r GROUP BY account_id, artifact)
            SELECT agg.account_id, '{kind}' AS kind, artifact, n::BIGINT AS n, n_ext::BIGINT AS n_ext,
                   sqrt(n / a.n_req) AS support, a.ext_share
            FROM agg JOIN link_acct_n a USING (account_id)""")
    if has_accounts:
        for kind, col in (("payment", "payment_fingerprint"), ("signup_ip", "signup_ip")):
            parts.append(f"link_art_{kind}")
            engine.run("link:artifacts", f"""
                CREATE OR REPLACE TABLE link_art_{kind} AS
                SELECT a.account_id, '{kind}' AS kind, a.{col} AS artifact, 1::BIGINT AS n, 0::BIGINT AS n_ext,
                       1.0::DOUBLE AS support,
                       n.ext_share
                FROM accounts a JOIN link_acct_n n USING (account_id) WHERE a.{col} IS NOT NULL""")
    engine.run("link:artifacts", "CREATE OR REPLACE TABLE account_artifacts AS "
               + " UNION ALL ".join(f"SELECT account_id, kind, artifact, n, n_ext, support, ext_share FROM {t}"
                                    for t in parts))
    for t in parts + ["link_acct_n"]:
        engine.run("link:artifacts", f"DROP TABLE IF EXISTS {t}")
    n_accounts = int(engine.scalar("SELECT count(DISTINCT account_id) FROM req_features"))
    hub = max(params.hub_min, int(params.hub_fraction * n_accounts))
    pure_kinds = ", ".join(repr(k) for k in PURE_KINDS)
    # lockstep groups join the same fetch (after every other kind, in artifact then account order,
    # as they are built), so the edge frame is made once: a concatenation copied all of it
    lock = lockstep_artifacts(engine, params)
    lock_sql = ""
    if len(lock):
        engine.register("link_lockstep", pa.Table.from_pandas(
            lock[["account_id", "artifact", "n", "df"]].astype({"n": "int64", "df": "int64"}), preserve_index=False))
        lock_sql = """
          UNION ALL SELECT account_id, 'lockstep' AS kind, artifact, n, 1.0::DOUBLE AS support, df, FALSE AS pure,
                           NULL::DOUBLE AS extraction_share
          FROM link_lockstep"""
    engine.run("link:artifacts", f"""
        CREATE OR REPLACE TABLE link_edges AS
        WITH df AS (SELECT kind, artifact, count(DISTINCT account_id) AS df,
                           sum(n_ext) / sum(n) >= {float(params.hub_pure_share)}
                           AND avg(CASE WHEN ext_share >= 0.5 THEN 1.0 ELSE 0.0 END) >= {float(params.hub_pure_share)}
                             AS pure
                    FROM account_artifacts GROUP BY ALL),
        kept AS (
          SELECT a.account_id, a.kind, a.artifact, a.n, a.support, df.df,
                 a.kind IN ({pure_kinds}) AND df.pure AS pure,
                 CASE WHEN a.kind = 'template' THEN ts.extraction_share END AS extraction_share
          FROM account_artifacts a JOIN df USING (kind, artifact)
          LEFT JOIN template_accounts ts ON a.kind = 'template' AND ts.template_id = a.artifact
          WHERE df.df BETWEEN 2 AND {hub}
             OR (df.df > {hub} AND df.pure AND a.kind IN ({pure_kinds}))
          {lock_sql})
        SELECT account_id, kind, artifact, n, support, df, coalesce(pure, FALSE) AS pure, extraction_share FROM kept""")
    if len(lock):
        engine.run("link:artifacts", "DROP TABLE IF EXISTS link_lockstep")
    # node numbers, made in the engine: accounts in sorted order, artifacts in sorted (kind, artifact)
    # order (what pandas' factorize(sort=True) and groupby(sort=True).ngroup() give; strings compare
    # by code point in Python, by UTF-8 bytes in the engine: the same order). Only these codes and
    # the numeric columns are fetched per edge: three string columns per edge took about 9.6 GB at
    # 28.8M requests and the process was killed (docs/benchmarks.md)
    engine.run("link:artifacts", """
        CREATE OR REPLACE TABLE link_acct_codes AS
        SELECT account_id, (row_number() OVER (ORDER BY account_id) - 1)::INTEGER AS a_code
        FROM (SELECT DISTINCT account_id FROM link_edges)""")
    engine.run("link:artifacts", """
        CREATE OR REPLACE TABLE link_art_codes AS
        SELECT kind, artifact, (row_number() OVER (ORDER BY kind, artifact) - 1)::INTEGER AS art_code
        FROM (SELECT DISTINCT kind, artifact FROM link_edges)""")
    t = engine.table("""
        SELECT c.a_code, r.art_code, e.n, e.df, e.pure, e.extraction_share, e.support
        FROM link_edges e JOIN link_acct_codes c USING (account_id) JOIN link_art_codes r USING (kind, artifact)
        ORDER BY e.kind = 'lockstep', r.art_code, c.a_code""")
    accts = engine.table("SELECT account_id FROM link_acct_codes ORDER BY a_code").column("account_id")
    arts = engine.table("SELECT kind, artifact FROM link_art_codes ORDER BY art_code")
    for name in ("link_edges", "link_acct_codes", "link_art_codes"):
        engine.run("link:artifacts", f"DROP TABLE IF EXISTS {name}")
    a_code = t.column("a_code").to_numpy().astype(np.int32)
    art_code = t.column("art_code").to_numpy().astype(np.int32)
    df = t.column("df").to_numpy().astype(np.int64)
    support = t.column("support").to_numpy().astype(np.float64)
    num = t.select(["n", "pure", "extraction_share"]).to_pandas()
    del t
    kind_of_art, kinds = pd.factorize(pd.Series(arts.column("kind").to_pandas()), sort=True)
    art_str_of_art, art_strs = pd.factorize(pd.Series(arts.column("artifact").to_pandas()))
    del arts
    kind_code = kind_of_art[art_code]
    # weight = kind weight x rarity x support (module doc); neither factor is kept as a column
    kind_w = np.array([float(params.kind_weights.get(k, 0.0)) for k in kinds], dtype=np.float64)[kind_code]
    denom = math.log(max(n_accounts, 3))
    rarity = np.log(n_accounts / np.maximum(df, 1).astype(np.float64)) / denom
    weight = kind_w * np.maximum(rarity, 0.05) * support
    del kind_w, rarity, support
    out = pd.DataFrame({
        "account_id": pd.Categorical.from_codes(a_code, categories=pd.Index(accts.to_pandas())),
        "kind": pd.Categorical.from_codes(kind_code, categories=kinds),
        "artifact": pd.Categorical.from_codes(art_str_of_art[art_code], categories=art_strs),
        "n": num["n"].astype(np.int64), "df": df, "pure": num["pure"].astype(bool),
        "extraction_share": num["extraction_share"].astype(np.float64), "weight": weight, "art_code": art_code})
    out.attrs["hub_limit"] = hub
    out.attrs["n_accounts"] = n_accounts
    return out


def lockstep_artifacts(engine: Engine, params: LinkParams) -> pd.DataFrame:
    """SynchroTrap-style co-activity groups as artifacts of kind ``lockstep``.

    Each account's set of active UTC hours (epoch hour numbers) is grouped with the others by
    :func:`~distillwatch.features.sketches.near_duplicate_roots_csr` (MinHash LSH candidates,
    exact Jaccard >= ``lockstep_jaccard``, leader peeling) and each group of >= 2 accounts
    becomes one artifact. Accounts active in fewer than ``lockstep_min_hours`` hours, or in more
    than ``lockstep_max_coverage`` of the hours of their own lifespan (round-the-clock services,
    which would all look alike), are left out.
    """

    t = engine.table(f"""
        WITH h AS (SELECT account_id, list(DISTINCT (epoch(ts) / 3600)::BIGINT) AS hours,
                          (max(epoch(ts)) - min(epoch(ts))) / 3600 + 1 AS span_h, count(*) AS n
                   FROM req_features GROUP BY account_id)
        SELECT account_id, hours, n FROM h
        WHERE len(hours) >= {int(params.lockstep_min_hours)} AND len(hours) <= {params.lockstep_max_coverage} * span_h
        ORDER BY account_id""")
    accts = t.column("account_id").to_pylist()
    ns = t.column("n").to_pylist()
    if len(accts) < 2:
        return pd.DataFrame()
    hours = t.column("hours").combine_chunks()
    offs = np.asarray(hours.offsets).astype(np.int64)
    roots = near_duplicate_roots_csr(np.asarray(hours.flatten()).astype(np.uint64), offs - offs[0],
                                     params.lockstep_jaccard).tolist()
    groups: dict[int, list[int]] = {}
    for k in range(len(accts)):
        groups.setdefault(roots[k], []).append(k)
    rows = []
    for root, members in groups.items():
        if len(members) < 2:
            continue
        art = f"lockstep:{accts[min(members)]}"
        for k in members:
            rows.append({"account_id": accts[k], "kind": "lockstep", "artifact": art, "n": ns[k],
                         "support": 1.0, "df": len(members)})
    return pd.DataFrame(rows)


def communities(edges: pd.DataFrame, params: LinkParams) -> dict[str, int]:
    """Run Leiden on the bipartite account-artifact graph; return ``{account_id: community}``.

    Only accounts with at least one kept edge appear. Communities whose members hold the same
    extraction-pure artifact (``pure``: a template, system prompt or client / parameter fingerprint
    whose requests are almost only extraction requests; see :data:`PURE_KINDS`) are then merged:
    modularity has a resolution limit (Fortunato & Barthelemy 2007) and cuts a stream split over
    thousands of one-request accounts into dozens of pieces, while the harness fingerprint they all
    share says they are one operation. Community numbers are
    renumbered by decreasing size, then by smallest account id, so they are deterministic.

    ``edges`` is :func:`build_artifacts`' frame, or any frame with ``account_id, kind, artifact,
    weight`` (strings or Categoricals) and optionally ``pure``.
    """
    import igraph as ig

    if edges.empty:
        return {}
    # node numbers without Python objects per edge (tuples, dicts and nested lists took several GB
    # at 16M requests): accounts in sorted order, then artifacts in sorted (kind, artifact) order
    src, accts = account_codes(edges["account_id"])
    art = artifact_codes(edges)
    n_arts = int(art.max()) + 1
    # edges are added in slices: python-igraph converts an edge list through Python objects, about
    # 145 bytes per edge at once when given whole (docs/benchmarks.md, "Where the memory goes")
    g = ig.Graph(n=len(accts) + n_arts, directed=False)
    for i in range(0, len(src), EDGE_SLICE):
        g.add_edges(np.column_stack([src[i:i + EDGE_SLICE], art[i:i + EDGE_SLICE] + len(accts)]).astype(np.int64))
    # weights passed as an array, not stored as an edge attribute (a Python float per edge)
    ig.set_random_number_generator(random.Random(params.seed))
    part = g.community_leiden(objective_function="modularity", weights=edges["weight"].astype(float).to_numpy(),
                              resolution=params.resolution, n_iterations=-1)
    del g
    memb = np.asarray(part.membership[: len(accts)], dtype=np.int64)
    pure = pure_mask(edges)
    if pure.any():
        memb = _merge_on_pure(memb, src[pure], art[pure])
    del src, art
    # communities by decreasing size, then by smallest account id (codes follow sorted account ids)
    order = np.lexsort((np.arange(len(memb)), memb))
    labels, starts, sizes = np.unique(memb[order], return_index=True, return_counts=True)
    rank = np.lexsort((order[starts], -sizes))  # order[starts]: each community's smallest account code
    new = np.empty(len(labels), dtype=np.int64)
    new[rank] = np.arange(len(labels))
    number = new[np.searchsorted(labels, memb)]
    return dict(zip(accts.tolist(), number.tolist()))


EDGE_SLICE = 1 << 21
"""Edges handed to igraph per call when the Leiden graph is built (bounds the conversion's transient memory)."""


def pure_mask(edges: pd.DataFrame) -> np.ndarray:
    """The ``pure`` column of ``edges`` as a numpy bool array (missing values and a missing column: False)."""
    if "pure" not in edges.columns:
        return np.zeros(len(edges), dtype=bool)
    return edges["pure"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def account_codes(accounts: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Number the distinct accounts of ``accounts`` in sorted order; return (int32 code per row, sorted ids).

    The codes equal ``pd.factorize(accounts, sort=True)``. A Categorical (as :func:`build_artifacts`
    returns) is renumbered from its categories, without hashing one string per row.
    """
    if isinstance(accounts.dtype, pd.CategoricalDtype) and len(accounts):
        codes = accounts.cat.codes.to_numpy()
        cats = accounts.cat.categories
        if codes.min() >= 0:
            used = np.flatnonzero(np.bincount(codes, minlength=len(cats)))
            names = cats[used]
            order = np.argsort(names.to_numpy(dtype=object), kind="stable")
            rank = np.zeros(len(cats), dtype=np.int32)
            rank[used[order]] = np.arange(len(used), dtype=np.int32)
            return rank[codes], names[order]
    codes, uniques = pd.factorize(accounts, sort=True)
    return codes.astype(np.int32), pd.Index(uniques)


def artifact_codes(edges: pd.DataFrame) -> np.ndarray:
    """Number each distinct (kind, artifact) of ``edges`` in sorted (kind, artifact) order; int32, one per row.

    The codes equal ``groupby(["kind", "artifact"], sort=True).ngroup()``. A frame with an
    ``art_code`` column (:func:`build_artifacts`: the engine's numbering) has them renumbered from
    it (a row subset may lack some codes). When ``edges`` is ordered as :func:`build_artifacts`
    returns it (by kind and artifact, lockstep rows last) they are worked out from that order with
    one comparison per row, instead of hashing every pair (several GB at 64M edges); any other
    order falls back to the groupby.
    """
    n = len(edges)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    if "art_code" in edges.columns:
        code = edges["art_code"].to_numpy()
        used = np.bincount(code) > 0
        return (np.cumsum(used, dtype=np.int32) - 1)[code]
    kind = edges["kind"].to_numpy(dtype=object)
    art = edges["artifact"].to_numpy(dtype=object)
    start = np.ones(n, dtype=bool)
    start[1:] = (kind[1:] != kind[:-1]) | (art[1:] != art[:-1])
    grp = np.cumsum(start, dtype=np.int32) - 1
    first = np.flatnonzero(start)
    g_kind, g_art = kind[first], art[first]
    kc, kinds = pd.factorize(g_kind, sort=True)
    same = kc[1:] == kc[:-1]
    if (np.count_nonzero(~same) != len(kinds) - 1
            or not bool(np.all(g_art[1:][same] > g_art[:-1][same]))):
        return edges.groupby(["kind", "artifact"], sort=True, dropna=False, observed=True).ngroup().to_numpy().astype(np.int32)
    # groups in (kind, artifact) order: a stable sort on kind keeps each kind's artifacts in row order
    order = np.argsort(kc, kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank[grp]


def _merge_on_pure(memb: np.ndarray, acc: np.ndarray, art: np.ndarray) -> np.ndarray:
    """Union the communities that hold a common extraction-pure artifact; return new labels.

    Args:
        memb: community label per account code.
        acc, art: account code and artifact code of each extraction-pure edge.

    A community joins only if at least two of its members hold the artifact (one stray account
    does not pull its whole community in), or if it is that one account alone. The unions are the
    connected components (scipy) of a graph whose nodes are communities; each merged community
    takes the smallest label among its parts.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    held = pd.DataFrame({"art": art, "c": memb[acc], "a": acc}).groupby(["art", "c"])["a"].nunique().reset_index()
    size = np.bincount(memb)
    held = held[held["a"].to_numpy() >= np.minimum(2, size[held["c"].to_numpy()])]
    first = held.groupby("art")["c"].transform("min").to_numpy()
    n = int(memb.max()) + 1
    adj = coo_matrix((np.ones(len(held)), (first, held["c"].to_numpy())), shape=(n, n))
    _, comp = connected_components(adj, directed=False)
    root = pd.Series(np.arange(n)).groupby(comp).transform("min").to_numpy()
    return root[memb]
