"""Per-request signals: SQL column expressions evaluated over every request in one pass.

Each class's :meth:`columns` maps output column names to SQL expressions over the aliases
``r`` (canonical ``requests`` table), ``i`` (IP intelligence joined on ``client_ip``) and ``c``
(the trained prompt classifier's output, table ``req_classes``, joined on ``request_id``).
The lexicons are the project's own heuristics, written for this tool; they are not taken from
a paper. The trained classifier (:mod:`distillwatch.classify`, ``docs/classifier.md``) sits
beside them: a request elicits chain-of-thought when either says so.
"""

from __future__ import annotations

from distillwatch.signals.base import Signal, register

# ---- lexicons (case-insensitive RE2 patterns) ------------------------------------------
LEX_CODING = (r"```|\bdef [a-z_]+\(|\bclass [A-Za-z_]+|\bfunction\b|\bpython\b|\bjavascript\b|\bjava\b|\bsql\b"
              r"|\bcode\b|\bcoding\b|\bimplement|\bcompile|\bdebug|\bbug\b|\bregex|\balgorithm|c\+\+|\btypescript\b"
              r"|\brust\b|\bgolang\b|\bscript\b|\bprogram\b|\bunit tests?\b|\brefactor")
LEX_AGENTIC = (r"\btools?\b|\bapi calls?\b|\bfunction calls?\b|\bagent\b|\bagentic\b|\bnext action\b|\bcall the\b"
               r"|\bexecute (the|a|this)\b|\bbrowse\b|\bsearch the web\b|\bworkflow\b|\bplan and (execute|act)\b")
LEX_LONG = (r"multi-step|long-horizon|end-to-end|entire (project|codebase|application|program)"
            r"|complete (project|implementation|program|solution)|comprehensive|full (implementation|solution|program|code)"
            r"|detailed plan|in full detail|exhaustive|at least [0-9]{3,} words|every (step|detail)|production-ready")
LEX_COT = (r"step[- ]by[- ]step|one step at a time|(each|every) (intermediate )?step|chain[- ]of[- ](thought|reasoning)"
           r"|show (all )?(of )?(your|the|all) (work|working|reasoning|thinking|thoughts?|steps)"
           r"|(explain|justify|describe|lay out|spell out|write out|walk (me )?through) (all )?(of )?(your|the|each|every|all)"
           r" (reasoning|thinking|thought|logic|steps?|working)"
           r"|reasoning (process|trace|steps|chain)|full reasoning|complete reasoning|your reasoning as you go"
           r"|think (it )?(carefully|through|out loud|aloud|hard)|reason (it )?(out|through|carefully)"
           r"|inner monologue|<think>|intermediate (steps|thoughts|reasoning)|thought process|internal reasoning"
           r"|scratchpad|let'?s think"
           r"|(think|reason|reflect|break (it|this) down|explain|plan|outline)[a-z ,]{0,40} before (giving|answering|responding|you answer|the (final )?answer)"
           r"|before (answering|you answer|responding), (think|reason|break|explain|outline|plan|list)")
"""Chain-of-thought elicitation phrases (the project's own list, written from common prompting
practice: "step by step", "show your work", "chain of thought", "think ... before answering").
Deliberately excludes a bare "before answering" (tool-using agents are told to "look things up
before answering")."""
LEX_RUBRIC = (r"\brubric\b|\bgrade (this|the|each|following)|\bgrader\b|\bscore (this|the|each|from|of)|on a scale (of|from)"
              r"|rate (the|this|each) (response|answer|output)|evaluate (the|this|each) (response|answer|output)"
              r"|\bjudge\b|reward model|which (response|answer) is better|\bcriteria\b|\bcriterion\b|score: ?\[")
LEX_MATHS = (r"\bsolve\b|\bequations?\b|\bcalculate\b|\bhow many\b|\bhow much\b|\bintegral\b|\bderivative\b"
             r"|\bprobability\b|\bprove\b|\bproof\b|[0-9]+ ?[-+*/×] ?[0-9]+|\bpercent|\btotal cost\b|\bremainder\b")

LONG_MAX_TOKENS = 8000
"""``max_tokens`` at or above which a request counts as a long task (tokens)."""
LONG_PROMPT_CHARS = 6000
"""User-message length at or above which a request counts as a long task (characters)."""
SCAN_CHARS = 1500
"""Lexicons read the first and last SCAN_CHARS characters of a long text: wrappers and instructions
sit at the ends, and this bounds the cost per request."""


def ends(col: str, n: int = SCAN_CHARS) -> str:
    """SQL: ``col`` itself when short, else its first and last ``n`` characters joined by a newline."""
    return f"(CASE WHEN length({col}) <= {2 * n} THEN {col} ELSE left({col}, {n}) || chr(10) || right({col}, {n}) END)"


def _rx(col: str, pattern: str) -> str:
    return f"regexp_matches({col}, '{pattern.replace(chr(39), chr(39) * 2)}', 'i')"


@register
class CapabilitySignal(Signal):
    """Capability class of a request: coding, agentic, long_horizon, reasoning, rubric_grading, maths or general_chat.

    Lexicon and structure rules over the last user message and the system prompt: tools or tool
    turns imply ``agentic``; ``max_tokens`` >= 8000 or a 6,000-character prompt implies
    ``long_horizon``. Several flags can be true; ``capability`` picks one in the priority order
    rubric_grading > agentic > coding > long_horizon > reasoning > maths > general_chat.
    Benign look-alikes: every developer's coding prompt is ``coding``; the signal matters only in
    aggregate (capability concentration per account).
    """

    id = "request.capability"
    scope = "request"
    family = "content"

    def columns(self) -> dict[str, str]:
        txt = ends("(r.system_text || ' ' || r.user_text)")
        cols = {
            "is_coding": _rx(txt, LEX_CODING),
            "is_agentic": f"(len(r.tool_names) > 0 OR r.n_tool_turns > 0 OR {_rx(txt, LEX_AGENTIC)})",
            "is_long": f"(coalesce(r.max_tokens, 0) >= {LONG_MAX_TOKENS} OR length(r.user_text) >= {LONG_PROMPT_CHARS} "
                       f"OR {_rx(ends('r.user_text'), LEX_LONG)})",
            "is_reasoning": _rx(txt, LEX_COT),
            "is_rubric": _rx(txt, LEX_RUBRIC),
            "is_maths": _rx(ends("r.user_text"), LEX_MATHS),
        }
        return cols

    def derived(self) -> dict[str, str]:
        """Columns computed from :meth:`columns` outputs (second SELECT level)."""
        return {"capability": "CASE WHEN is_rubric THEN 'rubric_grading' WHEN is_agentic THEN 'agentic' "
                              "WHEN is_coding THEN 'coding' WHEN is_long THEN 'long_horizon' "
                              "WHEN is_reasoning THEN 'reasoning' WHEN is_maths THEN 'maths' "
                              "ELSE 'general_chat' END"}


@register
class CotElicitationSignal(Signal):
    """Chain-of-thought elicitation: the request asks the model to reveal or spell out its reasoning.

    True when the user message or system prompt matches the CoT lexicon ("step by step",
    "show your reasoning", "chain of thought", "<think>", "inner monologue", ...), or when the
    trained classifier's ``cot`` or ``elicitation`` flag is set (:class:`PromptClassifierSignal`;
    elicitation: the prompt asks for reasoned, complete, explained answers; with a system prompt
    the flag must be carried by the user message or the system prompt on its own,
    ``classify.model.PART_CHECKED_HEADS``) on a request of at
    least ``CLASSIFIER_MIN_CHARS`` characters (a bag of n-grams over four words is one bigram's
    opinion: "Show me your car." scores 0.92 on ``cot``). Harvesting
    reasoning traces was a named target of the 2026 disclosures. Benign look-alikes: eval
    harnesses and students ("let's think step by step" is a standard prompting trick).

    ``cot_from_system`` records where the elicitation sits: true when the request elicits
    chain-of-thought, the lexicon matches the system prompt and does not match the user message.
    An app's system prompt ("You are a helpful assistant. Think step by step before answering.")
    puts the phrase on every request its users send, whatever they ask; the account features use
    this column to tell a popular prompt's CoT from the account's own (``crowd_cot_share``). The
    classifier reads system prompt and user message together, so a request that only the
    classifier flags is never attributed to the system prompt (it stays the account's own).
    """

    id = "request.cot_elicitation"
    scope = "request"
    family = "content"

    def columns(self) -> dict[str, str]:
        lexicon = _rx(ends("(r.system_text || ' ' || r.user_text)"), LEX_COT)
        trained = (f"(length(r.system_text) + length(r.user_text) >= {CLASSIFIER_MIN_CHARS} "
                   f"AND (coalesce(c.is_cot, false) OR coalesce(c.is_elicitation, false)))")
        is_cot = f"({lexicon} OR {trained})"
        from_system = f"({is_cot} AND {_rx(ends('r.system_text'), LEX_COT)} AND NOT {_rx(ends('r.user_text'), LEX_COT)})"
        return {"is_cot": is_cot, "cot_from_system": from_system}


CLASSIFIER_MIN_CHARS = 40
"""System prompt plus user message length (characters) below which the trained classifier's CoT
flags are not used; the lexicon still applies."""

CLASSIFIER_INPUT_SQL = "SELECT request_id, system_text, user_text, len(tool_names) AS n_tools FROM requests"
"""What the trained classifier reads (through ``Engine.map_batches``)."""


@register
class PromptClassifierSignal(Signal):
    """Trained prompt classifier: probabilities that a request targets coding, agentic tool use or maths, elicits chain-of-thought or complete reasoned answers, or asks for rubric grading.

    A linear model over hashed word 1-2-grams of the system prompt and the ends of the last user
    message, trained on real corpora under ``shared/data/prompts`` (GPTeacher, GSM8K, BFCL,
    HH-RLHF, AlpacaEval) plus the project's own wrapper text; validated on held-out templates
    (``docs/classifier.md``: elicitation 95.6 % recall at 0.8 % false positives on real users'
    coding prompts). Runs vectorised over Arrow batches (``Engine.map_batches``) into table
    ``req_classes``. Its ``cot`` and ``elicitation`` flags feed ``request.cot_elicitation``; the
    probabilities are kept per request (``p_*``) as evidence. Flags are ``p_* >=`` the stored
    threshold, except that on a request with a system prompt the ``cot`` and ``elicitation`` flags
    must also be reached by the user message or the system prompt scored alone: a coding-agent
    product's instructions plus a plain coding ask cleared the ``elicitation`` threshold together
    though neither does alone (``classify.model.PART_CHECKED_HEADS``). The ``extraction`` head learns corpus
    style rather than intent (leave-one-corpus-out recall near 0), so it is stored but never scored.
    Benign look-alikes: eval harnesses and tutors asking for worked solutions.
    """

    id = "request.prompt_classifier"
    scope = "request"
    family = "content"

    HEADS = ("coding", "agentic", "maths", "cot", "rubric", "elicitation", "extraction")

    def columns(self) -> dict[str, str]:
        return {f"p_{h}": f"c.p_{h}" for h in self.HEADS}


@register
class ClientFingerprintSignal(Signal):
    """Generation-parameter and client fingerprint: hash of user agent, max_tokens, temperature, stream, tools and system prompt.

    Accounts driven by one harness share this exact tuple even when their IPs differ. The
    system-prompt hash is also kept on its own (``system_hash``), and the generation parameters
    without the system prompt or tools form ``param_fp`` (user agent, max_tokens, temperature,
    stream): one harness that paraphrases its system prompt and changes tools per task still
    shares it. Benign
    look-alikes: a popular SDK with default parameters (hub-pruned in linking by its frequency
    unless its traffic is almost only extraction requests).
    """

    id = "request.client_fingerprint"
    scope = "request"
    family = "infrastructure"

    def columns(self) -> dict[str, str]:
        return {
            "system_hash": "CASE WHEN r.system_text <> '' THEN left(md5(r.system_text), 16) END",
            "client_fp": ("left(md5(concat_ws('|', coalesce(r.user_agent, '-'), coalesce(r.max_tokens::VARCHAR, '-'), "
                          "coalesce(round(r.temperature, 3)::VARCHAR, '-'), coalesce(r.stream::VARCHAR, '-'), "
                          "array_to_string(r.tool_names, ','), coalesce(md5(nullif(r.system_text, '')), '-'))), 16)"),
            "param_fp": ("left(md5(concat_ws('|', coalesce(r.user_agent, '-'), coalesce(r.max_tokens::VARCHAR, '-'), "
                         "coalesce(round(r.temperature, 3)::VARCHAR, '-'), coalesce(r.stream::VARCHAR, '-'))), 16)"),
        }


@register
class IpIntelSignal(Signal):
    """IP intelligence for the client address: ASN, organisation, country, cloud/datacenter, VPN, Tor.

    Looked up from public ranges (see ``docs/intel.md``): ASN and country from ip-location-db,
    cloud ranges from the providers' feeds, datacenter and VPN lists from X4BNet, Tor exits from
    the Tor Project list. ``is_proxy`` is true for Tor, VPN, cloud or datacenter egress.
    Residential proxies are not in these lists; they are caught by churn in the account signals.
    """

    id = "request.ip_intel"
    scope = "request"
    family = "infrastructure"

    def columns(self) -> dict[str, str]:
        return {
            "asn": "i.asn",
            "as_org": "i.as_org",
            "ip_country": "i.country",
            "ip_prefix": "i.prefix",
            "cloud_provider": "i.cloud_provider",
            "proxy_kind": "i.proxy_kind",
            "is_proxy": "coalesce(i.proxy_kind IS NOT NULL, false)",
        }


@register
class PromptTemplateSignal(Signal):
    """Prompt-template fingerprint: skeleton of the recurring sentences around a request's free text.

    The first and last four sentences of the user message and up to eight sentences of the
    system prompt are normalised (lower case, digits to 0, whitespace collapsed). Sentences seen in
    at least ``min_requests`` requests are template text; the rest is the free-text slot. The
    ordered hashes of template sentences form the skeleton; near-duplicate skeletons (sentence-set
    Jaccard >= ``lsh_threshold``) are grouped into one ``template_id``
    (:func:`distillwatch.features.sketches.near_duplicate_roots_csr`): MinHash LSH candidates (a
    pair at 0.6 shares a bucket with probability 0.62, at 0.8 with 0.998), exact verification,
    and leader peeling within each bucket, the most frequent skeleton leading.
    Benign look-alikes: enterprise automation and eval harnesses also reuse templates; linking
    weighs a template by how many distinct accounts share it.
    """

    id = "request.prompt_template"
    scope = "request"
    family = "content"

    min_requests = 5
    min_sentence_chars = 16
    lsh_threshold = 0.6
