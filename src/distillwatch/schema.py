"""Canonical column names and vocabularies: the one source of truth for every stage.

The input contract (``docs/input-format.md``) is expressed here as constants so that
ingest, signals, reports and tests never spell a column name twice.

Names follow the OpenTelemetry GenAI semantic conventions where one exists
(``gen_ai.request.model`` -> ``model``, ``gen_ai.request.max_tokens`` -> ``max_tokens``,
``gen_ai.usage.input_tokens`` -> ``input_tokens``, ``gen_ai.usage.output_tokens`` ->
``output_tokens``); times are UTC; token counts are tokens; durations are seconds.
"""

from __future__ import annotations

# ---- requests file: input contract -------------------------------------------------
REQUIRED_REQUEST_FIELDS: tuple[str, ...] = ("request_id", "timestamp", "account_id", "model")
"""Fields every request row must carry (plus one of ``messages`` / ``prompt``)."""

OPTIONAL_REQUEST_FIELDS: tuple[str, ...] = (
    "api_key_id",
    "org_id",
    "client_ip",
    "user_agent",
    "messages",
    "prompt",
    "tools",
    "max_tokens",
    "temperature",
    "stream",
    "response",
    "input_tokens",
    "output_tokens",
    "status",
)

MESSAGE_ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
"""Allowed ``messages[].role`` values (OpenAI chat format; ``developer`` is read as ``system``)."""

# ---- accounts file ----------------------------------------------------------------
ACCOUNT_FIELDS: tuple[str, ...] = (
    "account_id",
    "created_at",
    "email_domain",
    "payment_fingerprint",
    "billing_country",
    "org_id",
    "verification",
    "signup_ip",
)
VERIFICATION_LEVELS: tuple[str, ...] = ("none", "email", "edu", "startup", "research", "verified_org")

# ---- releases file ----------------------------------------------------------------
RELEASE_FIELDS: tuple[str, ...] = ("model", "released_at")

# ---- capability classes (per-request signal ``request.capability``) -----------------
CAPABILITIES: tuple[str, ...] = (
    "coding",
    "agentic",
    "long_horizon",
    "reasoning",
    "rubric_grading",
    "maths",
    "general_chat",
)
"""Capability classes, in the order used for tie-breaking (first wins).

``reasoning`` means reasoning / chain-of-thought elicitation; ``agentic`` covers tool use.
These are the targets named in the 2026 distillation disclosures: agentic reasoning,
coding, long tasks, chain-of-thought traces and rubric grading; ``maths`` and
``general_chat`` complete the partition.
"""

HIGH_VALUE_CAPABILITIES: tuple[str, ...] = ("coding", "agentic", "long_horizon", "reasoning", "rubric_grading")
"""Capabilities the disclosed campaigns targeted (the 'most valuable skills')."""

# ---- tiers -------------------------------------------------------------------------
TIERS: tuple[str, ...] = ("ban", "review", "clear")

# ---- evidence families (scoring requires independent families to agree for ban) ----
FAMILIES: tuple[str, ...] = ("content", "infrastructure", "behaviour", "identity")
"""Families of evidence. ``identity`` is account metadata (cards, signup IPs, verification)."""

# ---- output contract ---------------------------------------------------------------
ACCOUNTS_CSV_COLUMNS: tuple[str, ...] = ("account_id", "risk", "tier", "campaign_id", "requests", "reasons")
CAMPAIGN_KEYS: tuple[str, ...] = (
    "campaign_id",
    "accounts",
    "n_accounts",
    "n_requests",
    "first_seen",
    "last_seen",
    "capabilities",
    "proxy_share",
    "top_asns",
    "inferred_utc_offset",
    "evidence",
    "score",
)
TRUTH_COLUMNS: tuple[str, ...] = ("account_id", "label", "campaign")
"""``truth.csv`` columns written by ``simulate``: label is ``attack`` or ``benign``;
campaign is the campaign name for attack rows and the benign archetype name otherwise."""
