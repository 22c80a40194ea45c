"""STIX 2.1 sharing: export a scan's campaigns as a bundle, import partner bundles, match them.

* :func:`export_stix` reads a results directory (``campaigns.json`` and
  ``campaign_artifacts.parquet``, see :mod:`distillwatch.report.evidence`) and writes a STIX 2.1
  bundle: the producer ``identity``, a TLP ``marking-definition`` on every object, one ``campaign``
  per campaign, ``infrastructure`` for its egress pools (``campaign --uses--> infrastructure``) and
  ``indicator`` objects for shared artifacts (``indicator --indicates--> campaign``).
* :func:`import_stix` turns a partner's bundle into a JSON Lines indicator file.
* :func:`match_indicators` finds the accounts of a scan that match such a file.

What is never written: prompt text (templates travel only as keyed HMACs, see
:mod:`distillwatch.share.fingerprint`), the scanner's template ids (unkeyed hashes of the text),
account, organisation, API-key ids, emails, payment fingerprints, client fingerprints. Campaign
objects carry counts only.

Template fingerprints are STIX patterns over a custom cyber-observable type,
``[x-distillwatch-prompt-template:hmac_sha256 = '<hex>' AND x-distillwatch-prompt-template:key_id
= '<id>']``, defined by an ``extension-definition`` (``extension_types: ["new-sco"]``) that is
included in every bundle that carries one. This was preferred over a private ``pattern_type``
(``"distillwatch-template-hmac"``, also allowed by the spec and also round-tripping through
``stix2.parse``) because every indicator then stays ``pattern_type: "stix"``, validates with the
standard pattern grammar, and travels through STIX platforms that only index STIX patterns; the
extension-definition's ``schema`` text tells a receiver exactly how the value was computed.
:func:`import_stix` reads both forms.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from distillwatch.errors import InputError
from distillwatch.share.fingerprint import key_id as share_key_id
from distillwatch.share.fingerprint import template_fingerprint

log = logging.getLogger("distillwatch.share")

TEMPLATE_SCO_TYPE = "x-distillwatch-prompt-template"
"""Custom cyber-observable type whose ``hmac_sha256`` property is a keyed template fingerprint."""

TEMPLATE_PATTERN_TYPE = "distillwatch-template-hmac"
"""Alternative ``pattern_type`` (pattern = the hex digest) accepted by :func:`import_stix`."""

_NS = uuid.UUID("5b0c8f0e-6d1b-4c55-9d0e-7f1f2b6a9c31")
EXTENSION_ID = f"extension-definition--{uuid.uuid5(_NS, 'extension:' + TEMPLATE_SCO_TYPE + ':1.0.0')}"
"""Fixed id of the extension-definition that defines :data:`TEMPLATE_SCO_TYPE`."""
SCHEMA_AUTHOR_ID = f"identity--{uuid.uuid5(_NS, 'identity:distillwatch-project')}"
"""Fixed id of the identity that authors the extension-definition (the distillwatch project)."""
_FIXED_TIME = "2026-01-01T00:00:00.000Z"

EXTENSION_SCHEMA = (
    "x-distillwatch-prompt-template (new SCO, version 1.0.0): a prompt template seen in LLM API traffic, "
    "identified without its text. Properties: hmac_sha256 (string, required) = lower-case hex "
    "HMAC-SHA256(key, 'distillwatch-template-v1' || 0x00 || UTF-8(normalise(skeleton))), where the skeleton is "
    "the request's recurring template sentences joined by ' \u2026 ' and normalise = Unicode NFC, lower case, "
    "each run of ASCII digits replaced by a single '0', each run of whitespace replaced by one space, trimmed; "
    "key_id (string) = first 16 hex digits of HMAC-SHA256(key, 'distillwatch-key-id-v1'). The key is agreed "
    "between sharing partners out of band and is never included. Reference implementation: "
    "distillwatch.share.fingerprint.")

KIND_LABELS = {"ipv4": "client IPv4 address", "ipv6": "client IPv6 address", "cidr": "client network",
               "asn": "autonomous system", "user_agent": "HTTP User-Agent",
               "template_hmac": "prompt template fingerprint"}
INDICATOR_KINDS = tuple(KIND_LABELS)
"""``type`` values of the indicator file written by :func:`import_stix`."""

_CONFIDENCE = {"template_hmac": 80, "ipv4": 50, "ipv6": 50, "cidr": 30, "user_agent": 15, "asn": 15}
_INFRA_LABEL = {"tor": "Tor exits", "vpn": "VPN exits", "cloud": "cloud-hosted exits",
                "datacenter": "hosting/datacenter exits"}

_CAP_LABELS = {"coding": "coding", "agentic": "agentic tool use", "long_horizon": "long tasks",
               "reasoning": "chain-of-thought reasoning", "rubric_grading": "rubric grading",
               "maths": "maths", "general_chat": "general chat"}

_registered = False


def _stix():
    """Import stix2 (an optional dependency) and register the template observable once."""
    global _registered
    try:
        import stix2
        from stix2 import v21
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("STIX sharing needs the stix2 package: pip install stix2") from exc
    if not _registered:
        from stix2.exceptions import DuplicateRegistrationError
        from stix2.properties import StringProperty

        try:
            @v21.CustomObservable(TEMPLATE_SCO_TYPE, [("hmac_sha256", StringProperty(required=True)),
                                                     ("key_id", StringProperty())],
                                  id_contrib_props=["hmac_sha256", "key_id"], extension_name=EXTENSION_ID)
            class PromptTemplate:  # noqa: F811 - registered with stix2
                """Keyed fingerprint of a prompt template (see :data:`EXTENSION_SCHEMA`)."""
        except DuplicateRegistrationError:
            pass
        _registered = True
    return stix2, v21


def _tlp(stix2, tlp: str):
    t = tlp.strip().lower().removeprefix("tlp:")
    table = {"white": stix2.TLP_WHITE, "clear": stix2.TLP_WHITE, "green": stix2.TLP_GREEN,
             "amber": stix2.TLP_AMBER, "red": stix2.TLP_RED}
    if t not in table:
        raise ValueError(f"unknown TLP {tlp!r}; use one of white (clear), green, amber, red")
    return table[t]


def quote_pattern_string(value: str) -> str:
    """A STIX pattern string literal: single quotes, with ``\\`` and ``'`` escaped by a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value, flags=re.S)


# --------------------------------------------------------------------------------------------- export

def export_stix(results_dir: str | Path, out_path: str | Path, share_key: bytes | None = None, tlp: str = "amber",
                producer: str = "distillwatch", min_artifact_accounts: int = 2, *,
                max_indicators_per_kind: int = 200, min_template_requests: int = 5,
                min_asn_share: float = 0.05) -> dict:
    """Write the campaigns of a results directory as a STIX 2.1 bundle.

    Args:
        results_dir: a scan's output directory (needs ``campaigns.json`` and
            ``campaign_artifacts.parquet``).
        out_path: bundle file to write (JSON).
        share_key: key for template fingerprints (:func:`~distillwatch.share.fingerprint.load_share_key`);
            without one, template indicators are left out.
        tlp: ``white`` (``clear``), ``green``, ``amber`` or ``red``; marks every object.
        producer: name of the producing organisation (``identity``).
        min_artifact_accounts: an artifact becomes an indicator only if at least this many of the
            campaign's accounts used it.
        max_indicators_per_kind: per campaign and kind, keep the artifacts with the most requests.
        min_template_requests: templates seen in fewer campaign requests are left out (rare,
            often public-dataset prompts that ordinary users send too).
        min_asn_share: an AS becomes an indicator only if it carries at least this share of the
            campaign's requests (a residential pool spread over many ISPs yields none).

    Returns:
        summary: ``out``, ``bundle_id``, ``tlp``, ``objects`` (count per STIX type), ``indicators``
        (count per kind), ``campaigns``, ``limited`` (campaign -> kind -> [kept, eligible]),
        ``key_id`` and ``notes``.

    Raises:
        InputError: a needed results file is missing or unreadable.
        ValueError: unknown ``tlp`` or a share key under 16 bytes.
    """
    stix2, v21 = _stix()
    rd = Path(results_dir)
    marking = _tlp(stix2, tlp)
    campaigns = _read_campaigns(rd)
    artifacts = _read_artifacts(rd)
    linking = _read_linking(rd)
    kid = share_key_id(share_key) if share_key is not None else None
    now = datetime.now(timezone.utc)
    notes: list[str] = []

    producer_identity = v21.Identity(
        id=f"identity--{uuid.uuid5(_NS, 'producer:' + producer)}", name=producer, identity_class="organization",
        created=_FIXED_TIME, modified=_FIXED_TIME, object_marking_refs=[marking.id])
    factory = stix2.ObjectFactory(created_by_ref=producer_identity.id, object_marking_refs=[marking.id],
                                  created=now, list_append=False)
    objects: list[Any] = [marking, producer_identity]
    kinds_out: Counter = Counter()
    limited: dict[str, dict[str, list[int]]] = {}
    uses_templates = False

    for c in campaigns:
        cid = c["campaign_id"]
        arts = artifacts.get(cid, [])
        picked, lim = _pick_indicators(c, arts, None if linking is None else linking.get(cid, {}), share_key,
                                       min_artifact_accounts, max_indicators_per_kind, min_template_requests,
                                       min_asn_share)
        if lim:
            limited[cid] = lim
        n_ind = sum(len(v) for v in picked.values())
        campaign = factory.create(
            v21.Campaign, name=cid, description=_campaign_description(c, producer, picked, lim, min_artifact_accounts),
            first_seen=c["first_seen"], last_seen=c["last_seen"], objective=_objective(c),
            confidence=int(round(100 * float(c.get("score") or 0.0))))
        objects.append(campaign)
        for infra in _infrastructure(c, arts):
            obj = factory.create(v21.Infrastructure, **infra)
            objects += [obj, factory.create(v21.Relationship, source_ref=campaign.id, relationship_type="uses",
                                            target_ref=obj.id)]
        for kind, rows in picked.items():
            for a in rows:
                pattern, label = _pattern(kind, a, share_key, kid)
                if kind == "template_hmac":
                    uses_templates = True
                ind = factory.create(
                    v21.Indicator, name=f"{cid} {label}", pattern=pattern, pattern_type="stix",
                    valid_from=a["first_seen"], indicator_types=["malicious-activity" if kind == "template_hmac"
                                                                 else "anomalous-activity"],
                    confidence=_CONFIDENCE[kind],
                    description=_indicator_description(kind, a, c, lim.get(kind)))
                objects += [ind, factory.create(v21.Relationship, source_ref=ind.id, relationship_type="indicates",
                                                target_ref=campaign.id)]
                kinds_out[kind] += 1
        log.debug("campaign %s: %d indicators", cid, n_ind)

    if uses_templates:
        author = v21.Identity(id=SCHEMA_AUTHOR_ID, name="distillwatch project", identity_class="system",
                              created=_FIXED_TIME, modified=_FIXED_TIME, object_marking_refs=[marking.id])
        ext = v21.ExtensionDefinition(
            id=EXTENSION_ID, created_by_ref=SCHEMA_AUTHOR_ID, created=_FIXED_TIME, modified=_FIXED_TIME,
            name=TEMPLATE_SCO_TYPE, description="Keyed fingerprint of a prompt template seen in LLM API traffic.",
            schema=EXTENSION_SCHEMA, version="1.0.0", extension_types=["new-sco"], object_marking_refs=[marking.id])
        objects[2:2] = [author, ext]
    if share_key is None:
        notes.append("template indicators omitted: no share key given")
    if linking is None:
        notes.append("campaign_edges.parquet missing: ip, network and template indicators were not checked "
                     "for exclusivity")
    for cid, lim in limited.items():
        for kind, (kept, eligible) in lim.items():
            notes.append(f"{cid}: {kind} indicators limited to the top {kept} of {eligible} by requests")

    bundle = v21.Bundle(objects=objects)
    text = bundle.serialize()
    stix2.parse(text, allow_custom=False)  # validation: raises if anything is not plain STIX 2.1
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    return {"out": str(out), "bundle_id": bundle.id, "tlp": marking.name, "producer": producer,
            "campaigns": len(campaigns), "objects": dict(sorted(Counter(o.type for o in objects).items())),
            "indicators": dict(sorted(kinds_out.items())), "limited": limited, "key_id": kid, "notes": notes}


def _read_campaigns(rd: Path) -> list[dict]:
    p = rd / "campaigns.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return list(data["campaigns"])
    except FileNotFoundError as exc:
        raise InputError(f"{p}: not found (is {rd} a distillwatch results directory?)") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{p}: cannot read campaigns: {exc}") from exc


def _read_artifacts(rd: Path) -> dict[str, list[dict]]:
    import pyarrow.parquet as pq

    p = rd / "campaign_artifacts.parquet"
    try:
        rows = pq.read_table(p).to_pylist()
    except FileNotFoundError as exc:
        raise InputError(f"{p}: not found (results written by an older distillwatch? re-run the scan)") from exc
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{p}: cannot read campaign artifacts: {exc}") from exc
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        out[r["campaign_id"]].append(r)
    return out


def _read_linking(rd: Path) -> dict[str, dict[str, set[str]]] | None:
    """Per campaign, the client IPs, networks and template ids that linked its members
    (``campaign_edges.parquet``: artifacts held by >= 2 members and mostly by members; templates
    only when held by members alone).

    Raises:
        InputError: the edges file is missing or unreadable.
    """
    import pyarrow.parquet as pq

    p = rd / "campaign_edges.parquet"
    if not p.exists():
        raise InputError(f"{p}: missing; without the linking evidence, addresses, networks and templates "
                         "cannot be checked for exclusivity and would over-share. Re-run the scan.")
    try:
        table = pq.read_table(p)
        cols = ["campaign_id", "kind", "artifact"] + (["exclusivity"] if "exclusivity" in table.column_names else [])
        rows = table.select(cols).to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{p}: cannot read campaign edges: {exc}") from exc
    kinds = {"ip_day": "ip", "prefix_day": "cidr", "template": "template"}
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in rows:
        k = kinds.get(r["kind"])
        # a template is shared only when every account in the log that uses it is a member: a
        # prompt an ordinary user also sent must never become a partner's indicator
        if k == "template" and r.get("exclusivity", 1.0) < 1.0:
            continue
        if k and r["artifact"]:
            out[r["campaign_id"]][k].add(r["artifact"].rsplit("@", 1)[0] if k != "template" else r["artifact"])
    return out


def _pick_indicators(c: dict, arts: list[dict], linked: dict[str, set[str]] | None, share_key: bytes | None,
                     min_accounts: int, cap: int, min_template_requests: int,
                     min_asn_share: float) -> tuple[dict[str, list[dict]], dict]:
    """Eligible artifacts per indicator kind, most requests first, capped; and the kinds that were capped.

    IPs, networks and templates must also be among the artifacts that linked the campaign
    (``linked``; None skips that check): the linking stage keeps only artifacts held mostly by the
    campaign's accounts, so a popular prompt or a shared NAT that ordinary users send through too
    is not shared as an indicator.
    """
    total = max(int(c.get("n_requests") or 0), 1)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for a in arts:
        if a["value"] is None or int(a["n_accounts"]) < min_accounts:
            continue
        kind = a["kind"]
        if linked is not None and kind in ("ip", "cidr", "template") and a["value"] not in linked.get(kind, ()):
            continue
        if kind == "ip":
            try:
                kind = "ipv%d" % ipaddress.ip_address(a["value"]).version
            except ValueError:
                continue
        elif kind == "cidr":
            try:
                ipaddress.ip_network(a["value"], strict=False)
            except ValueError:
                continue
        elif kind == "asn":
            if not re.fullmatch(r"(?i)AS\d+", str(a["value"])) or a["n_requests"] / total < min_asn_share:
                continue
        elif kind == "template":
            if share_key is None or not a.get("detail") or int(a["n_requests"]) < min_template_requests:
                continue
            kind = "template_hmac"
        elif kind != "user_agent":
            continue
        by_kind[kind].append(a)
    picked, limited = {}, {}
    for kind in INDICATOR_KINDS:
        rows = sorted(by_kind.get(kind, []), key=lambda r: (-int(r["n_requests"]), str(r["value"])))
        if len(rows) > cap:
            limited[kind] = [cap, len(rows)]
            rows = rows[:cap]
        if rows:
            picked[kind] = rows
    return picked, limited


def _pattern(kind: str, a: dict, share_key: bytes | None, kid: str | None) -> tuple[str, str]:
    v = a["value"]
    if kind == "ipv4":
        return f"[ipv4-addr:value = {quote_pattern_string(str(ipaddress.ip_address(v)))}]", KIND_LABELS[kind]
    if kind == "ipv6":
        return f"[ipv6-addr:value = {quote_pattern_string(str(ipaddress.ip_address(v)))}]", KIND_LABELS[kind]
    if kind == "cidr":
        net = ipaddress.ip_network(v, strict=False)
        return (f"[ipv{net.version}-addr:value ISSUBSET {quote_pattern_string(str(net))}]",
                f"client network /{net.prefixlen}")
    if kind == "asn":
        return f"[autonomous-system:number = {int(str(v)[2:])}]", KIND_LABELS[kind]
    if kind == "user_agent":
        return ("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
                f"{quote_pattern_string(str(v))}]"), KIND_LABELS[kind]
    digest = template_fingerprint(a["detail"], share_key)
    return (f"[{TEMPLATE_SCO_TYPE}:hmac_sha256 = '{digest}' AND {TEMPLATE_SCO_TYPE}:key_id = '{kid}']",
            KIND_LABELS[kind])


def _day(ts) -> str:
    if isinstance(ts, datetime):
        return ts.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return str(ts)[:10]


def _caps(c: dict, n: int = 3) -> list[tuple[str, float]]:
    caps = [(_CAP_LABELS.get(k, k), float(v)) for k, v in sorted((c.get("capabilities") or {}).items(),
                                                               key=lambda kv: -kv[1])
            if float(v) >= 0.1 and k != "general_chat"][:n]
    return caps or [("general chat", 1.0)]


def _campaign_description(c: dict, producer: str, picked: dict, lim: dict, min_accounts: int) -> str:
    caps = ", ".join(f"{k} ({v:.0%})" for k, v in _caps(c))
    if float(c.get("proxy_share") or 0) >= 0.5:
        via = (f"{float(c['proxy_share']):.0%} of requests came through VPN, Tor, cloud or hosting exits "
               f"({int(c.get('n_client_ips') or 0):,} addresses in {int(c.get('n_asns') or 0):,} networks)")
    elif c.get("n_asns"):
        via = (f"requests came from {int(c['n_client_ips']):,} addresses in {int(c['n_asns']):,} networks (ASNs) "
               f"across {int(c.get('n_ip_countries') or 0):,} countries")
    else:
        via = "no IP intelligence was available for its addresses"
    n_ind = sum(len(v) for v in picked.values())
    if n_ind:
        parts = ", ".join(f"{len(v)} {k}" for k, v in picked.items())
        shared = (f" Indicators attached: {n_ind} ({parts}), each an artifact used by at least {min_accounts} of "
                  f"the campaign's accounts")
        if lim:
            shared += "; " + "; ".join(f"{k} limited to the top {kept} of {eligible} by requests"
                                       for k, (kept, eligible) in lim.items())
        shared += "."
    else:
        shared = " No artifact met the sharing thresholds, so no indicators are attached."
    return (f"Distillation (model-extraction) campaign reported by {producer}: {int(c['n_accounts']):,} accounts "
            f"sent {int(c['n_requests']):,} requests between {_day(c['first_seen'])} and {_day(c['last_seen'])}, "
            f"targeting {caps}; {via}.{shared} Account identities are withheld.")


def _objective(c: dict) -> str:
    caps = ", ".join(f"{k} ({v:.0%} of requests)" for k, v in _caps(c, 4))
    return f"Harvest model outputs to distil the model's capabilities in {caps}."


def _infrastructure(c: dict, arts: list[dict]) -> list[dict]:
    """Egress pools of a campaign: one per proxy kind carrying >= 5 % of requests, and a rotating
    residential pool when the campaign spreads over many addresses and networks without proxies."""
    total = max(int(c.get("n_requests") or 0), 1)
    n_acc = int(c.get("n_accounts") or 0)
    out = []
    proxies = sorted((a for a in arts if a["kind"] == "proxy" and a["value"]), key=lambda a: -int(a["n_requests"]))
    for a in proxies:
        share = int(a["n_requests"]) / total
        if share < 0.05:
            continue
        label = _INFRA_LABEL.get(a["value"], f"{a['value']} exits")
        if a["value"] == "cloud" and a.get("detail"):
            label = f"cloud-hosted exits ({a['detail']})"
        out.append({"name": f"{c['campaign_id']} {label}", "infrastructure_types": ["anonymization"],
                    "first_seen": a["first_seen"], "last_seen": a["last_seen"],
                    "description": (f"{label[0].upper()}{label[1:]} used by {int(a['n_accounts'])} of the campaign's "
                                    f"{n_acc} accounts for {int(a['n_requests']):,} of its {total:,} requests "
                                    f"({share:.0%}).")})
    n_ips, n_asns = int(c.get("n_client_ips") or 0), int(c.get("n_asns") or 0)
    if float(c.get("proxy_share") or 0) < 0.5 and n_ips >= max(20, 5 * n_acc) and n_asns >= 10:
        top = (c.get("top_asns") or [{}])[0]
        largest = f"; the largest network carries {float(top['share']):.0%} of requests" if top.get("share") else ""
        out.append({"name": f"{c['campaign_id']} rotating residential egress",
                    "infrastructure_types": ["anonymization", "botnet"],
                    "first_seen": c["first_seen"], "last_seen": c["last_seen"],
                    "description": (f"{n_ips:,} client addresses in {n_asns:,} networks across "
                                    f"{int(c.get('n_ip_countries') or 0):,} countries for {n_acc} accounts"
                                    f"{largest}; consistent with a residential proxy network (typically built on "
                                    f"compromised or enrolled consumer devices).")})
    return out


def _indicator_description(kind: str, a: dict, c: dict, lim: list[int] | None) -> str:
    what = {"ipv4": "Client address", "ipv6": "Client address", "cidr": "Client network",
            "asn": "Autonomous system" + (f" ({a['detail']})" if a.get("detail") else ""),
            "user_agent": "HTTP User-Agent", "template_hmac": "Prompt template (keyed HMAC fingerprint, text withheld)"}
    s = (f"{what[kind]} used by {int(a['n_accounts'])} of campaign {c['campaign_id']}'s {int(c['n_accounts'])} "
         f"accounts for {int(a['n_requests']):,} requests between {_day(a['first_seen'])} and {_day(a['last_seen'])}.")
    if kind in ("asn", "user_agent", "cidr"):
        s += " Shared by ordinary users too: corroborating evidence only, not a verdict on its own."
    if lim:
        s += f" One of the top {lim[0]} of {lim[1]} such artifacts by requests."
    return s


# --------------------------------------------------------------------------------------------- import

def import_stix(bundle_path: str | Path, out_path: str | Path) -> dict:
    """Extract the indicators of a STIX 2.x bundle into a JSON Lines indicator file.

    Each line: ``{"type": "ipv4"|"ipv6"|"cidr"|"asn"|"user_agent"|"template_hmac", "value": ...,
    "source": <producer name, else bundle id>, "indicator_id": ..., "bundle_id": ..., "campaigns":
    [names of campaigns the indicator indicates], "confidence": int|null}``; template lines also
    carry ``key_id`` when the pattern names one. ``value`` is an int for ``asn``, a normalised
    address or network for ``ipv4``/``ipv6``/``cidr``, lower-case hex for ``template_hmac``.

    Patterns read: single comparisons, ``OR`` of them (inside or across observations) and ``IN``
    lists over ``ipv4-addr:value``/``ipv6-addr:value`` (``=`` or ``ISSUBSET``),
    ``autonomous-system:number``, the ``User-Agent`` request header, and
    ``x-distillwatch-prompt-template:hmac_sha256`` (optionally ``AND ...:key_id``); also
    ``pattern_type`` ``distillwatch-template-hmac``. Anything else (other ``AND`` combinations,
    ``FOLLOWEDBY``, qualifiers, negations, other object types or pattern languages) is skipped
    and counted. Revoked indicators are skipped.

    Returns:
        ``{"out", "bundle_id", "source", "indicators", "written", "by_type", "skipped", "skipped_reasons"}``.

    Raises:
        InputError: the file is missing, not JSON, or not a valid STIX bundle.
    """
    stix2, _ = _stix()
    p = Path(bundle_path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{p}: not found") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{p}: not a JSON file: {exc}") from exc
    if not isinstance(raw, dict) or "type" not in raw:
        raise InputError(f"{p}: not a STIX bundle (expected a JSON object with \"type\": \"bundle\")")
    if raw.get("type") == "bundle" and not isinstance(raw.get("objects"), list):
        raise InputError(f"{p}: not a valid STIX bundle: it has no \"objects\" list")
    try:
        parsed = stix2.parse(raw, allow_custom=True)
    except Exception as exc:  # noqa: BLE001 - stix2 raises many types; all mean "bad input"
        raise InputError(f"{p}: not a valid STIX bundle: {exc}") from exc
    if getattr(parsed, "type", None) == "bundle":
        objects, bundle_id = list(parsed.get("objects") or []), parsed.id
    else:
        objects, bundle_id = [parsed], None
    names = {o["id"]: o.get("name") for o in objects if _otype(o) in ("identity", "campaign")}
    indicates: dict[str, list[str]] = defaultdict(list)
    for o in objects:
        if _otype(o) == "relationship" and o.get("relationship_type") == "indicates" \
                and str(o.get("target_ref", "")).startswith("campaign--"):
            indicates[o["source_ref"]].append(names.get(o["target_ref"]) or o["target_ref"])
    records, skipped = [], Counter()
    n_ind = 0
    sources = Counter()
    for o in objects:
        if _otype(o) != "indicator":
            continue
        n_ind += 1
        if o.get("revoked"):
            skipped["revoked"] += 1
            continue
        src = names.get(o.get("created_by_ref")) or bundle_id or p.name
        sources[src] += 1
        found, why = _indicator_values(o)
        if not found:
            skipped[why] += 1
            continue
        seen = set()
        for kind, value, extra in found:
            if (kind, value) in seen:
                continue
            seen.add((kind, value))
            rec = {"type": kind, "value": value, "source": src, "indicator_id": o["id"], "bundle_id": bundle_id,
                   "campaigns": sorted(set(indicates.get(o["id"], []))), "confidence": o.get("confidence")}
            rec.update(extra)
            records.append(rec)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return {"out": str(out), "bundle_id": bundle_id, "source": sources.most_common(1)[0][0] if sources else None,
            "indicators": n_ind, "written": len(records),
            "by_type": dict(sorted(Counter(r["type"] for r in records).items())),
            "skipped": sum(skipped.values()), "skipped_reasons": dict(sorted(skipped.items()))}


def _otype(o) -> str | None:
    return o.get("type") if hasattr(o, "get") else None


def _indicator_values(ind) -> tuple[list[tuple[str, Any, dict]], str]:
    """``([(kind, value, extra)], "")`` for a readable indicator, else ``([], reason)``."""
    ptype = str(ind.get("pattern_type") or "stix").lower()
    pattern = str(ind.get("pattern") or "")
    if ptype == TEMPLATE_PATTERN_TYPE:
        v = pattern.strip().lower()
        return ([("template_hmac", v, {})], "") if re.fullmatch(r"[0-9a-f]{64}", v) else ([], "bad template digest")
    if ptype != "stix":
        return [], f"pattern_type {ptype}"
    from stix2.pattern_visitor import create_pattern_object

    try:
        expr = create_pattern_object(pattern, version="2.1")
    except Exception:  # noqa: BLE001
        try:
            expr = create_pattern_object(pattern, version="2.0")
        except Exception:  # noqa: BLE001
            return [], "unparsable pattern"
    found = _walk_observations(expr)
    return (found, "") if found else ([], "unsupported pattern")


def _walk_observations(e) -> list:
    import stix2.patterns as P

    if isinstance(e, P.ParentheticalExpression):
        return _walk_observations(e.expression)
    if isinstance(e, P.OrObservationExpression):
        return [x for op in e.operands for x in _walk_observations(op)]
    if isinstance(e, P.ObservationExpression):
        return _walk_comparisons(e.operand)
    return []  # AND / FOLLOWEDBY of observations, qualifiers: not a single-artifact indicator


def _walk_comparisons(e) -> list:
    import stix2.patterns as P

    if isinstance(e, P.ParentheticalExpression):
        return _walk_comparisons(e.expression)
    if isinstance(e, P.OrBooleanExpression):
        return [x for op in e.operands for x in _walk_comparisons(op)]
    if isinstance(e, P.AndBooleanExpression):
        return _template_and(e)
    if getattr(e, "negated", False):
        return []
    path = _path(getattr(e, "lhs", None))
    if path is None:
        return []
    if isinstance(e, P.InComparisonExpression):
        return [x for c in e.rhs.value for x in _comparison(path, "=", c)]
    if isinstance(e, P.EqualityComparisonExpression):
        return _comparison(path, "=", e.rhs)
    if isinstance(e, P.IsSubsetComparisonExpression):
        return _comparison(path, "ISSUBSET", e.rhs)
    return []


def _path(lhs) -> tuple[str, ...] | None:
    if lhs is None or not hasattr(lhs, "object_type_name"):
        return None
    parts = [lhs.object_type_name]
    import stix2.patterns as P

    for comp in lhs.property_path:
        if type(comp) is not P.BasicObjectPathComponent:  # list indexes and *_ref dereferences: unsupported
            return None
        parts.append(str(comp.property_name))
    return tuple(parts)


def _const(c):
    import stix2.patterns as P

    if isinstance(c, P.StringConstant):
        return _unquote(c.value)
    if isinstance(c, P.IntegerConstant):
        return int(c.value)
    return None


def _comparison(path: tuple[str, ...], op: str, rhs) -> list:
    v = _const(rhs)
    if v is None:
        return []
    if path in (("ipv4-addr", "value"), ("ipv6-addr", "value")) and isinstance(v, str):
        try:
            if "/" in v:
                net = ipaddress.ip_network(v, strict=False)
                if net.prefixlen == net.max_prefixlen:
                    return [(f"ipv{net.version}", str(net.network_address), {})]
                return [("cidr", str(net), {})]
            if op != "=":
                return []
            addr = ipaddress.ip_address(v)
            return [(f"ipv{addr.version}", str(addr), {})]
        except ValueError:
            return []
    if op != "=":
        return []
    if path == ("autonomous-system", "number"):
        try:
            n = int(v)
        except (TypeError, ValueError):
            return []
        return [("asn", n, {})] if 0 <= n < 2 ** 32 else []
    if (len(path) == 5 and path[0] == "network-traffic" and path[1:4] == ("extensions", "http-request-ext",
                                                                           "request_header")
            and path[4].lower() == "user-agent" and isinstance(v, str)):
        return [("user_agent", v, {})]
    if path == (TEMPLATE_SCO_TYPE, "hmac_sha256") and isinstance(v, str) and re.fullmatch(r"[0-9a-fA-F]{64}", v):
        return [("template_hmac", v.lower(), {})]
    return []


def _template_and(e) -> list:
    """``hmac_sha256 = X AND key_id = Y`` on the template observable: one fingerprint with its key id."""
    import stix2.patterns as P

    digest, kid = None, None
    for op in e.operands:
        if not isinstance(op, P.EqualityComparisonExpression) or op.negated:
            return []
        path, v = _path(op.lhs), _const(op.rhs)
        if path == (TEMPLATE_SCO_TYPE, "hmac_sha256") and isinstance(v, str) and re.fullmatch(r"[0-9a-fA-F]{64}", v):
            digest = v.lower()
        elif path == (TEMPLATE_SCO_TYPE, "key_id") and isinstance(v, str):
            kid = v
        else:
            return []
    if digest is None:
        return []
    return [("template_hmac", digest, {"key_id": kid} if kid else {})]


# --------------------------------------------------------------------------------------------- match

MATCH_SCHEMA = pa.schema([("account_id", pa.string()), ("n_matches", pa.int64()), ("kinds", pa.list_(pa.string())),
                          ("indicator_ids", pa.list_(pa.string())), ("n_requests", pa.int64())])
"""Columns returned by :func:`match_indicators`."""


def _indicator_problem(r: dict) -> str | None:
    """Why an indicator line cannot be matched, or None when it can."""
    t, v = r.get("type"), r.get("value")
    if t not in INDICATOR_KINDS:
        return f"unknown indicator type {t!r}"
    try:
        if t in ("ipv4", "ipv6"):
            if ipaddress.ip_address(str(v)).version != int(t[-1]):
                return f"{v!r} is not an {t} address"
        elif t == "cidr":
            ipaddress.ip_network(str(v), strict=False)
        elif t == "asn":
            n = int(str(v).upper().removeprefix("AS"))
            if not 0 <= n < 2 ** 32:
                return f"AS number {v!r} outside 0 .. 2^32-1"
        elif t == "template_hmac":
            if not re.fullmatch(r"[0-9a-fA-F]{64}", str(v)):
                return "template_hmac must be 64 hex digits"
        elif t == "user_agent" and not str(v):
            return "empty user agent"
    except ValueError:
        return f"invalid {t} value {v!r}"
    return None


def read_indicators(path: str | Path, problems: list[str] | None = None) -> list[dict]:
    """Read an indicator file written by :func:`import_stix`.

    Lines whose type is unknown or whose value is invalid for its type (a malformed address or
    network, an AS number outside 32 bits, a fingerprint that is not 64 hex digits) are left out;
    when ``problems`` is given, one ``"line N: reason"`` string per such line is appended to it.

    Raises:
        InputError: missing file, or a line that is not a JSON object with ``type``, ``value`` and
            ``indicator_id`` (the message names the file and line).
    """
    p = Path(path)
    out = []
    try:
        fh = open(p, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{p}: cannot read indicator file: {exc.strerror or exc}") from exc
    with fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{p}: line {i}: not JSON ({exc})") from exc
            if not isinstance(r, dict) or not {"type", "value", "indicator_id"} <= r.keys():
                raise InputError(f"{p}: line {i}: expected an object with type, value and indicator_id")
            why = _indicator_problem(r)
            if why is None:
                out.append(r)
            elif problems is not None:
                problems.append(f"line {i}: {why}")
    return out


def match_indicators(indicators_path: str | Path, engine, share_key: bytes | None = None, *,
                     expand_templates: bool = False) -> pa.Table:
    """Accounts of a scan that match partner indicators.

    Args:
        indicators_path: file written by :func:`import_stix`.
        engine: the scan's engine, holding ``req_features`` (``account_id, request_id, client_ip,
            asn, user_agent, skeleton, template_id``).
        share_key: the key agreed with the partner; without it template fingerprints are ignored.
            Fingerprints whose ``key_id`` differs from this key's are ignored (logged).
        expand_templates: ``False`` (default) matches requests whose skeleton's HMAC equals a
            fingerprint. ``True`` also matches the other skeletons the scan merged into the same
            ``template_id`` (near-duplicates): more recall, but a near-duplicate cluster can hold an
            ordinary user's variant of a public prompt, so exact is the default.

    Matching: IPs by address (distinct client IPs are parsed once), CIDRs by containment of those
    distinct IPs, AS by number, User-Agent by exact string, templates by recomputing the HMAC of
    each distinct skeleton.

    Returns:
        one row per matching account (:data:`MATCH_SCHEMA`): ``account_id``, ``n_matches``
        (distinct indicators matched), ``kinds`` and ``indicator_ids`` (sorted, distinct),
        ``n_requests`` (requests matching at least one indicator); most matches first.
    """
    inds = read_indicators(indicators_path)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in inds:
        by_kind[r["type"]].append(r)

    ip_rows = _ip_hits(engine, by_kind)
    asn_rows = []
    for r in by_kind.get("asn", []):
        try:
            asn_rows.append((int(str(r["value"]).upper().removeprefix("AS")), r["indicator_id"]))
        except ValueError:
            continue
    ua_rows = [(str(r["value"]), r["indicator_id"]) for r in by_kind.get("user_agent", [])]
    tpl_rows = _template_hits(engine, by_kind.get("template_hmac", []), share_key)

    engine.register("partner_ip_hits", pa.table({"client_ip": pa.array([x[0] for x in ip_rows], pa.string()),
                                                 "indicator_id": pa.array([x[1] for x in ip_rows], pa.string()),
                                                 "kind": pa.array([x[2] for x in ip_rows], pa.string())}))
    engine.register("partner_asn", pa.table({"asn": pa.array([x[0] for x in asn_rows], pa.int64()),
                                             "indicator_id": pa.array([x[1] for x in asn_rows], pa.string())}))
    engine.register("partner_ua", pa.table({"user_agent": pa.array([x[0] for x in ua_rows], pa.string()),
                                            "indicator_id": pa.array([x[1] for x in ua_rows], pa.string())}))
    engine.register("partner_skeletons", pa.table({"skeleton": pa.array([x[0] for x in tpl_rows], pa.string()),
                                                   "indicator_id": pa.array([x[1] for x in tpl_rows], pa.string())}))
    tpl_sql = ("""SELECT f.account_id, f.request_id, t.indicator_id, 'template_hmac' AS kind
                  FROM req_features f JOIN (SELECT DISTINCT k.template_id, s.indicator_id
                                            FROM partner_skeletons s JOIN req_features k USING (skeleton)
                                            WHERE k.template_id IS NOT NULL) t USING (template_id)
                  UNION ALL """ if expand_templates else "") + """
               SELECT f.account_id, f.request_id, s.indicator_id, 'template_hmac'
               FROM req_features f JOIN partner_skeletons s USING (skeleton)"""
    try:
        res = engine.table(f"""
            WITH hits AS (
              SELECT f.account_id, f.request_id, h.indicator_id, h.kind
                FROM req_features f JOIN partner_ip_hits h USING (client_ip)
              UNION ALL SELECT f.account_id, f.request_id, a.indicator_id, 'asn'
                FROM req_features f JOIN partner_asn a ON f.asn = a.asn
              UNION ALL SELECT f.account_id, f.request_id, u.indicator_id, 'user_agent'
                FROM req_features f JOIN partner_ua u USING (user_agent)
              UNION ALL {tpl_sql})
            SELECT account_id, count(DISTINCT indicator_id) AS n_matches,
                   list(DISTINCT kind ORDER BY kind) AS kinds,
                   list(DISTINCT indicator_id ORDER BY indicator_id) AS indicator_ids,
                   count(DISTINCT request_id) AS n_requests
            FROM hits WHERE account_id IS NOT NULL
            GROUP BY account_id ORDER BY n_matches DESC, account_id""", stage="partner_indicators")
    finally:
        for t in ("partner_ip_hits", "partner_asn", "partner_ua", "partner_skeletons"):
            engine.run("partner_indicators", f'DROP TABLE IF EXISTS "{t}"')
    return res.cast(MATCH_SCHEMA)


def _ip_hits(engine, by_kind: dict[str, list[dict]]) -> list[tuple[str, str, str]]:
    """``(client_ip, indicator_id, kind)`` for each distinct client IP inside an ip or cidr indicator."""
    exact: dict[Any, list[tuple[str, str]]] = defaultdict(list)
    for kind in ("ipv4", "ipv6"):
        for r in by_kind.get(kind, []):
            try:
                ip = ipaddress.ip_address(str(r["value"]))
            except ValueError:
                continue
            if ip.version == 6 and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            exact[ip].append((r["indicator_id"], kind))
    nets: dict[tuple[int, int], dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for r in by_kind.get("cidr", []):
        try:
            n = ipaddress.ip_network(str(r["value"]), strict=False)
        except ValueError:
            continue
        nets[(n.version, n.prefixlen)][int(n.network_address)].append(r["indicator_id"])
    if not exact and not nets:
        return []
    ips = engine.table("SELECT DISTINCT client_ip FROM req_features WHERE client_ip IS NOT NULL").column(0).to_pylist()
    out = []
    for s in ips:
        try:
            ip = ipaddress.ip_address(s)
        except ValueError:
            continue
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        for iid, kind in exact.get(ip, ()):
            out.append((s, iid, kind))
        value, bits = int(ip), ip.max_prefixlen
        for (ver, plen), table in nets.items():
            if ver != ip.version:
                continue
            for iid in table.get(value >> (bits - plen) << (bits - plen), ()):
                out.append((s, iid, "cidr"))
    return out


def _template_hits(engine, rows: list[dict], share_key: bytes | None) -> list[tuple[str, str]]:
    """``(skeleton, indicator_id)`` for each distinct skeleton whose HMAC equals a fingerprint."""
    if not rows:
        return []
    if share_key is None:
        log.warning("%d template fingerprints ignored: no share key given", len(rows))
        return []
    mine = share_key_id(share_key)
    wanted: dict[str, list[str]] = defaultdict(list)
    other = 0
    for r in rows:
        if r.get("key_id") and r["key_id"] != mine:
            other += 1
            continue
        wanted[str(r["value"]).lower()].append(r["indicator_id"])
    if other:
        log.warning("%d template fingerprints ignored: made with another key (key id differs from %s)", other, mine)
    if not wanted:
        return []
    skels = engine.table("SELECT DISTINCT skeleton FROM req_features WHERE skeleton IS NOT NULL").column(0).to_pylist()
    return [(s, iid) for s in skels for iid in wanted.get(template_fingerprint(s, share_key), ())]

