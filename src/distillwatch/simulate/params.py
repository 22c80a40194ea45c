"""Parameters of every archetype, as dataclasses, and the default scenario.

Counts are given at ``scale=1.0`` (about 100k requests over 14 days); ``simulate`` multiplies
account counts (and, for single-organisation archetypes, volume) by ``scale`` and keeps
at least ``min_accounts``. A scenario suite can build variants with
``dataclasses.replace(SCENARIO_DEFAULTS["attack:hydra"], n_accounts=400)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from distillwatch.simulate.world import Adoption


@dataclass(frozen=True)
class ArchetypeParams:
    """Common fields.

    Attributes:
        n_accounts: accounts at scale 1.0.
        min_accounts: floor after scaling (so that every archetype exists at small scale).
        p_429, p_500: share of requests answered 429 / 500.
        adoption: how the archetype moves to the model released mid-window.
        p_mini: share of (non-new-model) requests sent to the small model.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = "benign"
    n_accounts: int = 1
    min_accounts: int = 1
    p_429: float = 0.006
    p_500: float = 0.003
    adoption: Adoption = field(default_factory=Adoption)
    p_mini: float = 0.0

    def accounts_at(self, scale: float) -> int:
        """Number of accounts at ``scale``: ``max(min_accounts, round(n_accounts * scale))``.

        Python's ``round`` (half to even) is used.
        """
        return max(self.min_accounts, int(round(self.n_accounts * scale)))


# ------------------------------------------------------------------------------------ benign
@dataclass(frozen=True)
class CasualParams(ArchetypeParams):
    """Casual chat users: diurnal in local time, residential/mobile IPs, few requests a day."""

    name: ClassVar[str] = "benign:casual"
    n_accounts: int = 1000
    min_accounts: int = 8
    p_active_day: float = 0.45
    sessions_mean: float = 1.6
    max_turns: int = 5
    mobile_share: float = 0.35
    p_ip_change_day: float = 0.12
    p_travel: float = 0.03
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=30, share=0.55, ramp_h=36))
    p_mini: float = 0.15


@dataclass(frozen=True)
class DeveloperParams(ArchetypeParams):
    """Developers: coding prompts and chat, working hours, home/office/cloud IPs, SDK clients."""

    name: ClassVar[str] = "benign:developer"
    n_accounts: int = 150
    min_accounts: int = 4
    p_active_weekday: float = 0.7
    p_active_weekend: float = 0.2
    requests_mean: float = 13.0
    mix: tuple[tuple[str, float], ...] = (("coding", 0.55), ("benign_chat", 0.25), ("tool_use", 0.2))
    p_cloud_ip: float = 0.2
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=3, share=0.45, ramp_h=24))
    p_mini: float = 0.3
    user_agent: str | None = None
    """One user agent for every account (a popular SDK shared by thousands); ``None`` draws per account."""


@dataclass(frozen=True)
class EnterpriseParams(ArchetypeParams):
    """A verified organisation's templated automation: high volume, round the clock, fixed params."""

    name: ClassVar[str] = "benign:enterprise"
    n_accounts: int = 3
    min_accounts: int = 2
    n_orgs: int = 1
    requests_per_day: float = 1200.0
    n_egress_ips: int = 3
    cloud: str = "cloud:amazon"
    legacy_completion_share: float = 0.34
    """Share of the org's accounts on the legacy completion API (``prompt`` instead of ``messages``)."""
    p_429: float = 0.02
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=1e9, share=0.0))


@dataclass(frozen=True)
class CodingAgentParams(ArchetypeParams):
    """A coding-agent product: tool-heavy multi-turn agent loops, high volume, cloud egress."""

    name: ClassVar[str] = "benign:coding_agent"
    n_accounts: int = 2
    min_accounts: int = 1
    steps_per_day: float = 650.0
    steps_mean: float = 8.0
    max_steps: int = 24
    n_egress_ips: int = 6
    cloud: str = "cloud:google"
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=20, share=0.7, ramp_h=6))
    p_429: float = 0.01


@dataclass(frozen=True)
class EvalHarnessParams(ArchetypeParams):
    """Researchers running a benchmark once: a burst of templated GSM8K/coding prompts on one day."""

    name: ClassVar[str] = "benign:eval_harness"
    n_accounts: int = 4
    min_accounts: int = 1
    items_range: tuple[int, int] = (300, 1100)
    burst_hours: tuple[float, float] = (1.5, 5.0)
    new_model_first: bool = True
    """The first researcher benchmarks the new model within a day of its release (a hard negative)."""
    p_429: float = 0.03


@dataclass(frozen=True)
class CampusParams(ArchetypeParams):
    """Students behind one campus NAT, same university domain, signed up the same week."""

    name: ClassVar[str] = "benign:campus"
    n_accounts: int = 120
    min_accounts: int = 5
    country: str = "US"
    domain: str = "lakeshore.edu"
    n_nat_ips: int = 3
    p_on_campus: float = 0.65
    p_active_day: float = 0.4
    requests_mean: float = 5.0
    mix: tuple[tuple[str, float], ...] = (("benign_chat", 0.45), ("coding", 0.3), ("maths", 0.25))
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=48, share=0.4, ramp_h=48))
    p_mini: float = 0.2


# ------------------------------------------------------------------------------------ attacks
@dataclass(frozen=True)
class HydraParams(ArchetypeParams):
    """Many light accounts over rotating residential proxies, one client fingerprint, waves of
    new accounts, agentic-coding targets, pivot to the new model within hours of release."""

    name: ClassVar[str] = "attack:hydra"
    label: ClassVar[str] = "attack"
    n_accounts: int = 140
    min_accounts: int = 10
    n_waves: int = 5
    lifespan_days: tuple[float, float] = (3.0, 9.0)
    p_active_day: float = 0.9
    daily_rate: tuple[float, float] = (20.0, 29.0)
    p_new_ip: float = 0.85
    mobile_proxy_share: float = 0.1
    proxy_countries: tuple[tuple[str, float], ...] = (
        ("US", 30), ("GB", 6), ("DE", 5), ("CA", 5), ("FR", 4), ("JP", 4), ("KR", 3), ("BR", 4), ("IN", 5),
        ("AU", 3), ("NL", 3), ("SG", 3), ("ES", 2), ("IT", 2), ("MX", 2), ("PL", 2), ("ID", 2), ("VN", 2),
        ("TW", 2), ("TR", 2), ("PH", 2), ("HK", 2))
    cards_per_account: float = 1 / 20
    mix: tuple[tuple[str, float], ...] = (("coding", 0.4), ("agentic_multiturn", 0.35), ("tool_use", 0.25))
    user_agent: str = "OpenAI/Python 1.54.3"
    max_tokens: int = 16384
    temperature: float = 0.7
    operator_offset_h: float = 8.0
    operator_hours_share: float = 0.3
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=4.0, share=0.9, ramp_h=2.0))
    total_requests: int | None = None
    """Split mode: the campaign's whole stream (requests at ``scale=1``, scaled like volumes) is spread
    over the accounts, so each account's daily rate is ``daily_rate`` times ``total / expected``."""
    wrapper_style: str = "hydra"
    """``hydra``: fixed system/task templates; ``paraphrase``: everyday, humanised wording with no system
    prompt (``wrappers.CAREFUL``), a different paraphrase per request."""
    human_schedule: bool = False
    """Imitate humans: requests follow ``HUMAN_HOURS`` in the account's billing-country time zone, and
    every proxy IP is in that country (so the IP's time zone matches the schedule)."""


@dataclass(frozen=True)
class CotHarvestParams(ArchetypeParams):
    """Chain-of-thought and rubric-grading harvest in lockstep round-robin via shared exits."""

    name: ClassVar[str] = "attack:cot_harvest"
    label: ClassVar[str] = "attack"
    n_accounts: int = 10
    min_accounts: int = 3
    per_account_cadence_s: float = 450.0
    """Each account's turn comes round every this many seconds (cadence = this / n_accounts)."""
    sessions_utc: tuple[tuple[float, float], ...] = ((1.0, 4.5), (12.5, 16.0))
    n_vpn_ips: int = 2
    n_dc_ips: int = 2
    rubric_share: float = 0.4
    mix: tuple[tuple[str, float], ...] = (("maths", 0.45), ("coding", 0.25), ("benign_chat", 0.3))
    user_agents: tuple[str, ...] = ("python-httpx/0.27.0", "OpenAI/Python 1.51.2")
    max_tokens: int = 8192
    temperatures: tuple[float, ...] = (1.0, 0.6)
    p_skip_day: float = 0.1
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=40, share=0.7, ramp_h=6))


@dataclass(frozen=True)
class CarefulRingParams(ArchetypeParams):
    """Unique cards, domains, sticky residential IPs, varied clients; linkable only by content and
    co-activity (one team's shifts in one time zone)."""

    name: ClassVar[str] = "attack:careful_ring"
    label: ClassVar[str] = "attack"
    n_accounts: int = 16
    min_accounts: int = 3
    team_offset_h: float = 8.0
    shifts_local: tuple[tuple[float, float], ...] = ((9.5, 12.0), (13.5, 18.0), (20.0, 22.5))
    p_active_day: float = 0.8
    requests_mean: float = 18.0
    mix: tuple[tuple[str, float], ...] = (("coding", 0.35), ("maths", 0.25), ("agentic_multiturn", 0.15),
                                          ("tool_use", 0.1), ("benign_chat", 0.15))
    countries: tuple[str, ...] = ("US", "GB", "CA", "AU", "DE", "SG", "NL", "JP", "FR", "KR", "IE", "NZ")
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=12, share=0.5, ramp_h=24))


@dataclass(frozen=True)
class ResellerParams(ArchetypeParams):
    """A relay whose traffic mixes its customers' ordinary chat with extraction traffic."""

    name: ClassVar[str] = "attack:reseller"
    label: ClassVar[str] = "attack"
    n_accounts: int = 3
    min_accounts: int = 1
    requests_per_account_day: float = 150.0
    extraction_share: float = 0.4
    n_egress_ips: int = 4
    clouds: tuple[str, ...] = ("cloud:digitalocean", "cloud:linode")
    user_agent: str = "Go-http-client/2.0"
    extraction_adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=6, share=0.8, ramp_h=6))
    adoption: Adoption = field(default_factory=lambda: Adoption(lag_h=24, share=0.35, ramp_h=48))
    p_mini: float = 0.25


@dataclass(frozen=True)
class LegitRelayParams(ResellerParams):
    """A legitimate reseller: a relay whose customers are ordinary (no extraction traffic)."""

    name: ClassVar[str] = "benign:relay"
    label: ClassVar[str] = "benign"
    extraction_share: float = 0.0


@dataclass(frozen=True)
class BurstOnceParams(ArchetypeParams):
    """Ordinary light users who, once, run a one-day batch job (summaries, rewrites) of hundreds of requests."""

    name: ClassVar[str] = "benign:burst_once"
    n_accounts: int = 6
    min_accounts: int = 2
    requests_mean: float = 4.0
    p_active_day: float = 0.35
    burst_requests: tuple[int, int] = (400, 1500)
    burst_hours: tuple[float, float] = (2.0, 8.0)


SCENARIO_DEFAULTS: dict[str, ArchetypeParams] = {
    p.name: p
    for p in (
        CasualParams(), DeveloperParams(), EnterpriseParams(), CodingAgentParams(), EvalHarnessParams(),
        CampusParams(), HydraParams(), CotHarvestParams(), CarefulRingParams(), ResellerParams(),
    )
}
"""Archetype name -> default parameters, in generation order."""

BENIGN_ARCHETYPES = tuple(k for k, v in SCENARIO_DEFAULTS.items() if v.label == "benign")
ATTACK_ARCHETYPES = tuple(k for k, v in SCENARIO_DEFAULTS.items() if v.label == "attack")
