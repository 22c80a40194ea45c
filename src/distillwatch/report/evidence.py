"""Evidence tables written beside the results, so that reports, dossiers and shared indicators can be
produced later from the results directory alone, without the original log.

All are Parquet files in the output directory (times UTC, counts exact, taken from the scan's
request table):

* ``campaign_members.parquet``: ``campaign_id, account_id``.
* ``campaign_daily.parquet``: ``campaign_id, day (DATE), model, n_requests, n_accounts``.
* ``campaign_artifacts.parquet``: ``campaign_id, kind, value, detail, n_requests, n_accounts,
  first_seen, last_seen`` with kinds ``ip`` (client address), ``cidr`` (its /24 or /48), ``asn``
  (value ``AS<number>``, detail = organisation), ``user_agent``, ``proxy`` (value = proxy kind,
  detail = cloud provider; one row per kind and provider) and ``template`` (value = template id, detail = the most common
  normalised skeleton text of that template: wrapper sentences only, never a user's free text).
* ``campaign_edges.parquet``: ``campaign_id, account_id, kind, artifact, holders, exclusivity`` —
  the linking evidence (artifacts held by two or more members) for drawing the account graph;
  ``holders`` is how many accounts in the whole log hold the artifact and ``exclusivity`` the
  share of them that are members.
* ``account_meta.parquet``: one row per account seen: ``account_id, org_id, created_at,
  verification, first_seen, last_seen, n_requests, tier, risk, campaign_id``.
* ``campaign_examples.parquet``: ``campaign_id, template_id, request_id, user_text`` — up to three
  example requests per campaign, the text passed through the PII redactor
  (:func:`distillwatch.report.redact.redact`) before it is written, like the template skeletons in
  ``campaign_artifacts.parquet``: a results folder is what goes to a partner or an auditor.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from distillwatch.engine.base import Engine
from distillwatch.report.redact import redact

EVIDENCE_FILES = ("campaign_members.parquet", "campaign_daily.parquet", "campaign_artifacts.parquet",
                  "campaign_edges.parquet", "account_meta.parquet", "campaign_examples.parquet")
"""Files written by :func:`write_evidence`."""


def write_evidence(result, engine: Engine, out: Path) -> list[str]:
    """Write the evidence tables of ``result`` (a ``ScanResult``) into ``out``; return the file names.

    Requires the scan's tables ``req_features``, ``requests`` and (optionally) ``accounts`` in
    ``engine``.
    """
    members = [(c["campaign_id"], a) for c in result.campaigns for a in c["accounts"]]
    engine.register("campaign_members", pa.table({
        "campaign_id": pa.array([m[0] for m in members], pa.string()),
        "account_id": pa.array([m[1] for m in members], pa.string())}))
    acc = result.accounts
    engine.register("scored_accounts", pa.table({
        "account_id": pa.array(acc["account_id"].tolist(), pa.string()),
        "tier": pa.array(acc["tier"].tolist(), pa.string()),
        "risk": pa.array(acc["risk"].astype(float).tolist(), pa.float64()),
        "campaign_id": pa.array([c or None for c in acc["campaign_id"]], pa.string())}))
    has_accounts = engine.has_table("accounts")
    if has_accounts:
        acct_join = "LEFT JOIN accounts a ON a.account_id = f.account_id"
        acct_cols = ("coalesce(any_value(a.org_id), mode(f.org_id ORDER BY f.org_id)) AS org_id, "
                     "any_value(a.created_at) AS created_at, "
                     "any_value(a.verification) AS verification")
    else:
        acct_join = ""
        acct_cols = "mode(f.org_id ORDER BY f.org_id) AS org_id, NULL::TIMESTAMPTZ AS created_at, NULL::VARCHAR AS verification"
    queries = {
        "campaign_members.parquet": "SELECT * FROM campaign_members ORDER BY campaign_id, account_id",
        "campaign_daily.parquet": """
            SELECT m.campaign_id, date_trunc('day', r.ts)::DATE AS day, r.model, count(*) AS n_requests,
                   count(DISTINCT r.account_id) AS n_accounts
            FROM req_features r JOIN campaign_members m USING (account_id) GROUP BY ALL ORDER BY ALL""",
        "campaign_artifacts.parquet": """
            WITH r AS (SELECT m.campaign_id, f.* FROM req_features f JOIN campaign_members m USING (account_id)),
            a AS (
              SELECT campaign_id, 'ip' AS kind, client_ip AS value, NULL AS detail, NULL AS gkey, request_id, account_id, ts
                FROM r WHERE client_ip IS NOT NULL
              UNION ALL SELECT campaign_id, 'cidr', ip_prefix, NULL, NULL, request_id, account_id, ts FROM r WHERE ip_prefix IS NOT NULL
              UNION ALL SELECT campaign_id, 'asn', 'AS' || asn, as_org, NULL, request_id, account_id, ts FROM r WHERE asn IS NOT NULL
              UNION ALL SELECT campaign_id, 'user_agent', user_agent, NULL, NULL, request_id, account_id, ts FROM r
                WHERE user_agent IS NOT NULL
              UNION ALL SELECT campaign_id, 'proxy', proxy_kind, cloud_provider, coalesce(cloud_provider, ''), request_id, account_id, ts FROM r
                WHERE proxy_kind IS NOT NULL
              UNION ALL SELECT campaign_id, 'template', template_id, skeleton, NULL, request_id, account_id, ts FROM r
                WHERE template_id IS NOT NULL),
            -- plain aggregates in two steps instead of count(DISTINCT) and mode over all rows at once,
            -- so DuckDB can spill them: the one-step form ran out of memory at 16M requests (4 GB cap)
            per_acct AS (SELECT campaign_id, kind, value, gkey, account_id, count(*) AS n, min(ts) AS first_seen,
                                max(ts) AS last_seen
                         FROM a GROUP BY campaign_id, kind, value, gkey, account_id),
            agg AS (SELECT campaign_id, kind, value, gkey, sum(n) AS n_requests, count(*) AS n_accounts,
                           min(first_seen) AS first_seen, max(last_seen) AS last_seen
                    FROM per_acct GROUP BY campaign_id, kind, value, gkey),
            det AS (SELECT campaign_id, kind, value, gkey, detail, count(*) AS c
                    FROM a WHERE detail IS NOT NULL GROUP BY campaign_id, kind, value, gkey, detail),
            -- the most frequent detail, ties to the smallest (what mode(detail ORDER BY detail) gives)
            best AS (SELECT campaign_id, kind, value, gkey, first(detail ORDER BY c DESC, detail) AS detail
                     FROM det GROUP BY campaign_id, kind, value, gkey)
            SELECT agg.campaign_id, agg.kind, agg.value, best.detail, agg.n_requests::BIGINT AS n_requests,
                   agg.n_accounts, agg.first_seen, agg.last_seen
            FROM agg LEFT JOIN best ON best.campaign_id = agg.campaign_id AND best.kind = agg.kind
                 AND best.value = agg.value AND best.gkey IS NOT DISTINCT FROM agg.gkey
            ORDER BY agg.campaign_id, agg.kind, agg.n_requests DESC, agg.value, best.detail""",
        "account_meta.parquet": f"""
            SELECT f.account_id, {acct_cols}, min(f.ts) AS first_seen, max(f.ts) AS last_seen,
                   count(*) AS n_requests, any_value(s.tier) AS tier, any_value(s.risk) AS risk,
                   any_value(s.campaign_id) AS campaign_id
            FROM req_features f {acct_join}
            JOIN scored_accounts s ON s.account_id = f.account_id
            GROUP BY f.account_id ORDER BY f.account_id""",
        "campaign_examples.parquet": """
            WITH t AS (
              SELECT m.campaign_id, f.template_id, count(*) AS n, min(f.request_id) AS request_id
              FROM req_features f JOIN campaign_members m USING (account_id)
              WHERE f.template_id IS NOT NULL GROUP BY m.campaign_id, f.template_id
              QUALIFY row_number() OVER (PARTITION BY m.campaign_id ORDER BY count(*) DESC, f.template_id) <= 3)
            SELECT t.campaign_id, t.template_id, t.request_id, r.user_text
            FROM t JOIN requests r USING (request_id) ORDER BY t.campaign_id, t.n DESC, t.template_id""",
    }
    written = []
    for name, sql in queries.items():
        df = engine.table(sql).to_pandas()
        # text from the log goes through the PII redactor before it is written: results folders are
        # handed to partners and auditors (found by a new-user trial: examples were stored verbatim)
        if name == "campaign_examples.parquet":
            df["user_text"] = df["user_text"].map(redact, na_action="ignore")
        elif name == "campaign_artifacts.parquet":
            tpl = df["kind"] == "template"
            df.loc[tpl, "detail"] = df.loc[tpl, "detail"].map(redact, na_action="ignore")
        df.to_parquet(out / name, index=False)
        written.append(name)
    # column by column, without a Python tuple per edge (a 25,000-account campaign holds tens of millions)
    schema = pa.schema([("campaign_id", pa.string()), ("account_id", pa.string()), ("kind", pa.string()),
                        ("artifact", pa.string()), ("holders", pa.int64()), ("exclusivity", pa.float64())])
    parts = []
    for g in result.groups:
        if not g.is_campaign or g.edges.empty:
            continue
        e = g.edges
        parts.append(pa.table([pa.repeat(pa.scalar(g.campaign_id, pa.string()), len(e)),
                               *(pa.array(e[c].astype(str), type=pa.string()) for c in ("account_id", "kind", "artifact")),
                               pa.array(e["df"].astype("int64").to_numpy(), pa.int64()),
                               pa.array(e["exclusivity"].astype("float64").to_numpy(), pa.float64())], schema=schema))
    pa_edges = pa.concat_tables(parts) if parts else schema.empty_table()
    import pyarrow.parquet as pq

    pq.write_table(pa_edges, out / "campaign_edges.parquet")
    written.append("campaign_edges.parquet")
    return written
