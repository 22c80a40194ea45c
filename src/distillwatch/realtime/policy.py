"""Access policy: rules by model, country, entity and verification level, read from YAML.

A policy file looks like (see ``examples/policy.yaml``)::

    version: 1
    rules:
      - name: suspend-x-y-listed-entities
        models: [aurora-3, aurora-3-mini]     # any of these models (omit = every model)
        entities: [org-acme, acct_123]        # account_id, org_id or email domain on the list
        action: block
      - name: suspend-x-y-listed-countries
        models: [aurora-3, aurora-3-mini]
        countries: [XX, YY]                   # ISO 3166-1 alpha-2, upper case
        country_source: any                   # billing | ip | any (default any)
        action: block
      - name: frontier-needs-verification
        models: [aurora-3]
        action: require_verification
        min_verification: startup             # levels below this are refused

Semantics: a rule *matches* a request when every selector it gives matches (selectors are
combined with AND; a list matches when the request's value is on it). To express OR, write two
rules. Selectors:

* ``models``: the request's ``model``;
* ``countries``: the account's billing country (accounts file, ``billing_country``) and/or the
  country of the client IP (:mod:`distillwatch.intel` lookup), chosen by ``country_source``;
* ``entities``: the ``account_id``, the request's or the account's ``org_id``, or the account's
  ``email_domain``;
* ``verification``: the account's verification level (``none`` when unknown).

Actions: ``block`` refuses; ``flag`` serves and flags; ``require_verification`` refuses unless
the account's verification level is at least ``min_verification`` in the order of
:data:`distillwatch.schema.VERIFICATION_LEVELS` (none < email < edu < startup < research <
verified_org). Every matching rule contributes a reason ``policy.<action>:<name>``; the decision
is the most severe one.

Validation is by pydantic; :func:`load_policy` raises :class:`PolicyError` whose lines name the
rule index and field, e.g. ``rules[2].action: Input should be 'block', 'flag' or
'require_verification'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from distillwatch.schema import VERIFICATION_LEVELS

ACTIONS = ("block", "flag", "require_verification")
_LEVEL = {v: i for i, v in enumerate(VERIFICATION_LEVELS)}


class PolicyError(ValueError):
    """A policy file is unreadable or invalid; ``problems`` holds one line per error."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: invalid policy:\n" + "\n".join(f"  {p}" for p in problems))


class Rule(BaseModel):
    """One policy rule (see module docstring)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1)
    action: Literal["block", "flag", "require_verification"]
    models: Optional[list[str]] = None
    countries: Optional[list[str]] = None
    country_source: Literal["billing", "ip", "any"] = "any"
    entities: Optional[list[str]] = None
    verification: Optional[list[str]] = None
    min_verification: Optional[str] = None

    @field_validator("models", "countries", "entities", "verification")
    @classmethod
    def _nonempty(cls, v):
        if v is not None and len(v) == 0:
            raise ValueError("an empty list matches nothing; omit the selector to match everything")
        return v

    @field_validator("countries")
    @classmethod
    def _iso(cls, v):
        bad = [c for c in v or [] if not (isinstance(c, str) and len(c) == 2 and c.isalpha() and c.isupper())]
        if bad:
            raise ValueError(f"countries must be ISO 3166-1 alpha-2 codes in upper case; got {bad}")
        return v

    @field_validator("verification")
    @classmethod
    def _levels(cls, v):
        bad = [x for x in v or [] if x not in _LEVEL]
        if bad:
            raise ValueError(f"verification levels must be among {list(VERIFICATION_LEVELS)}; got {bad}")
        return v

    @field_validator("min_verification")
    @classmethod
    def _level(cls, v):
        if v is not None and v not in _LEVEL:
            raise ValueError(f"min_verification must be one of {list(VERIFICATION_LEVELS)}")
        return v

    @model_validator(mode="after")
    def _needs_level(self):
        if self.action == "require_verification" and self.min_verification is None:
            raise ValueError("action require_verification needs min_verification")
        if self.action != "require_verification" and self.min_verification is not None:
            raise ValueError("min_verification is only meaningful with action require_verification")
        return self


class Policy(BaseModel):
    """A policy file: ``version: 1`` and a list of rules with unique names."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self):
        seen: set[str] = set()
        for r in self.rules:
            if r.name in seen:
                raise ValueError(f"duplicate rule name {r.name!r}")
            seen.add(r.name)
        return self

    @property
    def needs_ip_country(self) -> bool:
        """True when some rule reads the client IP's country (the service then loads IP intel)."""
        return any(r.countries and r.country_source in ("ip", "any") for r in self.rules)


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def load_policy(path: str | Path) -> Policy:
    """Read and validate a YAML policy file.

    Raises:
        PolicyError: unreadable file, invalid YAML (with line), or invalid content (each problem
            as ``rules[i].field: message``).
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(str(p), [f"cannot read: {exc.strerror or exc}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise PolicyError(str(p), [f"{where}invalid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(str(p), ["(file): a policy is a mapping with 'version' and 'rules'"])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(str(p), [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()]) from exc


@dataclass
class Subject:
    """What a rule is evaluated against: one request and its account's metadata.

    Attributes:
        account_id, model: from the request.
        org_ids: the request's and the accounts file's ``org_id`` (absent ones left out).
        email_domain: from the accounts file, lower case.
        billing_country: from the accounts file, upper case.
        ip_country: country of the client IP from IP intelligence, if looked up.
        verification: the accounts file's level (``none`` when unknown).
    """

    account_id: str
    model: str
    org_ids: tuple[str, ...] = ()
    email_domain: Optional[str] = None
    billing_country: Optional[str] = None
    ip_country: Optional[str] = None
    verification: str = "none"


SEVERITY = {"allow": 0, "flag": 1, "throttle": 2, "block": 3}
"""Order of decisions, least to most severe."""


def evaluate(policy: Policy, s: Subject) -> tuple[str, list[str]]:
    """Apply every rule to ``s``.

    Returns:
        ``(decision, reasons)``: the most severe action among matching rules (``allow`` when none
        matches; ``require_verification`` gives ``block`` unless the level suffices) and one
        reason ``policy.<action>:<rule name>`` per rule that acted.
    """
    decision, reasons = "allow", []
    level = _LEVEL.get(s.verification or "none", 0)
    for r in policy.rules:
        if r.models is not None and s.model not in r.models:
            continue
        if r.countries is not None:
            cands = []
            if r.country_source in ("billing", "any"):
                cands.append(s.billing_country)
            if r.country_source in ("ip", "any"):
                cands.append(s.ip_country)
            if not any(c in r.countries for c in cands if c):
                continue
        if r.entities is not None:
            ents = {s.account_id, *s.org_ids} | ({s.email_domain} if s.email_domain else set())
            if ents.isdisjoint(r.entities):
                continue
        if r.verification is not None and (s.verification or "none") not in r.verification:
            continue
        if r.action == "require_verification":
            if level >= _LEVEL[r.min_verification]:
                continue
            act = "block"
        else:
            act = r.action
        reasons.append(f"policy.{r.action}:{r.name}")
        if SEVERITY[act] > SEVERITY[decision]:
            decision = act
    return decision, reasons
