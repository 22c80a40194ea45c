"""The scenario suite: named, parameterised, seed-deterministic worlds for evaluation.

Each :class:`Scenario` is the benign background (the six benign archetypes of
``SCENARIO_DEFAULTS``) plus what the scenario is about:

* **evasions** (one campaign each): a stream split over 100 / 1,000 / 20,000 accounts, a
  reseller mixing 5 % / 30 % / 90 % extraction into customer traffic, paraphrased wrappers,
  residential proxies rotating on every request, the careful ring (unique cards, emails and
  clients), a human diurnal schedule in the IPs' time zone, low and slow over 45 days, and a
  pivot to the new model within hours of its release;
* **hard negatives** (amplified legitimate heavy users, next to one ordinary ``attack:hydra``
  so that recall stays defined): verified enterprise automation, coding-agent products, eval
  harness runs, a campus behind one NAT, legitimate relays, a popular SDK user agent shared by
  thousands (the same one the campaign uses), and benign accounts that burst once;
* **reference**: ``SCENARIO_DEFAULTS`` itself (all four campaign archetypes).

The shapes come from issue 3 and the 2026 disclosures (about 25,000 accounts at about 26
requests a day; relays mixing customer traffic; pivots within 24 h of a release). Sizes are at
``scale=1``; ``simulate`` scales account counts, except that the split scenarios keep their
account count (the point of the scenario) and scale the stream instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillwatch.simulate import params as P
from distillwatch.simulate.world import Adoption

EVASION, HARD_NEGATIVE, REFERENCE = "evasion", "hard_negative", "reference"


@dataclass(frozen=True)
class Scenario:
    """One named world.

    Attributes:
        name: short identifier (``split_20000``, ``hn_campus`` ...).
        kind: ``evasion``, ``hard_negative`` or ``reference``.
        description: one sentence for tables.
        extra: archetype name -> parameters added to (or replacing, on the same name) the background.
        days: window length (days).
        background: multiplier on the benign background's account counts (a 45-day window at full
            background would be 3x the size of the others).
        focus: the archetypes the scenario is about (its campaign, or its hard negatives).
    """

    name: str
    kind: str
    description: str
    extra: dict[str, P.ArchetypeParams]
    days: int = 14
    background: float = 1.0
    focus: tuple[str, ...] = ()

    def archetypes(self) -> dict[str, P.ArchetypeParams]:
        """Archetype name -> parameters: the benign background (times ``background``) plus ``extra``."""
        out: dict[str, P.ArchetypeParams] = {}
        for name in P.BENIGN_ARCHETYPES:
            base = P.SCENARIO_DEFAULTS[name]
            if self.background != 1.0:
                base = dataclasses.replace(base, n_accounts=max(base.min_accounts,
                                                                int(round(base.n_accounts * self.background))))
            out[name] = base
        out.update(self.extra)
        return out

    def simulate(self, out_dir: str | Path, seed: int, scale: float = 1.0, **kwargs: Any):
        """Write this scenario's log with :func:`distillwatch.simulate.simulate` (same seed, same bytes).

        Returns:
            ``SimulationSummary``.
        """
        from distillwatch.simulate.core import simulate

        return simulate(out_dir, seed=seed, scale=scale, days=self.days, archetypes=self.archetypes(), **kwargs)


SPLIT_STREAM = 12_000
"""Requests (at ``scale=1``) of the split campaign's stream: at 100 accounts each sends about 22 a
day (under the disclosed 26), at 20,000 accounts most send one or two in all."""


def _split(n: int) -> Scenario:
    return Scenario(
        f"split_{n}", EVASION, f"one stream of {SPLIT_STREAM:,} requests split over {n:,} light accounts",
        {f"attack:split_{n}": P.HydraParams(n_accounts=n, min_accounts=n, total_requests=SPLIT_STREAM)},
        focus=(f"attack:split_{n}",))


def _mix(share: float) -> Scenario:
    pct = int(round(share * 100))
    return Scenario(
        f"mix_{pct:02d}", EVASION, f"relays mixing {pct} % extraction into ordinary customer traffic",
        {f"attack:mix_{pct:02d}": P.ResellerParams(n_accounts=6, min_accounts=3, extraction_share=share)},
        focus=(f"attack:mix_{pct:02d}",))


def _with_hydra(extra: dict[str, P.ArchetypeParams]) -> dict[str, P.ArchetypeParams]:
    return {**extra, "attack:hydra": P.HydraParams()}


def _build() -> dict[str, Scenario]:
    hydra = P.HydraParams()
    s = [
        Scenario("reference", REFERENCE, "the default world: all four campaign archetypes",
                 dict((k, v) for k, v in P.SCENARIO_DEFAULTS.items() if v.label == "attack"),
                 focus=P.ATTACK_ARCHETYPES),
        _split(100), _split(1000), _split(20000),
        _mix(0.05), _mix(0.30), _mix(0.90),
        Scenario("paraphrase", EVASION, "paraphrased, humanised wrappers instead of fixed templates",
                 {"attack:paraphrase": P.HydraParams(wrapper_style="paraphrase")}, focus=("attack:paraphrase",)),
        Scenario("rotating_proxy", EVASION, "residential or mobile proxy exit rotated on every request",
                 {"attack:rotating_proxy": P.HydraParams(p_new_ip=1.0, mobile_proxy_share=0.3)},
                 focus=("attack:rotating_proxy",)),
        Scenario("careful_ring", EVASION, "unique cards, emails, clients and sticky IPs per account",
                 {"attack:careful_ring": P.CarefulRingParams(n_accounts=30)}, focus=("attack:careful_ring",)),
        Scenario("human_schedule", EVASION, "a human diurnal schedule in the proxy IPs' own time zone",
                 {"attack:human_schedule": P.HydraParams(human_schedule=True)}, focus=("attack:human_schedule",)),
        Scenario("low_slow", EVASION, "low and slow: 3-8 requests a day per account for the whole 45 days",
                 {"attack:low_slow": P.HydraParams(n_accounts=60, n_waves=1, lifespan_days=(40.0, 46.0),
                                                   daily_rate=(3.0, 8.0))},
                 days=45, background=0.3, focus=("attack:low_slow",)),
        Scenario("release_pivot", EVASION, "campaigns moving to the new model within 1-12 h of its release",
                 {"attack:release_pivot": P.HydraParams(adoption=Adoption(lag_h=1.0, share=0.95, ramp_h=1.0)),
                  "attack:cot_pivot": P.CotHarvestParams(adoption=Adoption(lag_h=12.0, share=0.9, ramp_h=2.0))},
                 focus=("attack:release_pivot", "attack:cot_pivot")),
        Scenario("hn_enterprise", HARD_NEGATIVE, "verified enterprise automation: 3 organisations round the clock",
                 _with_hydra({"benign:enterprise": P.EnterpriseParams(n_accounts=9, n_orgs=3)}),
                 focus=("benign:enterprise",)),
        Scenario("hn_coding_agent", HARD_NEGATIVE, "coding-agent products: tool-heavy agent loops from the cloud",
                 _with_hydra({"benign:coding_agent": P.CodingAgentParams(n_accounts=6)}),
                 focus=("benign:coding_agent",)),
        Scenario("hn_eval_harness", HARD_NEGATIVE, "eval-harness runs: templated benchmark bursts, one on the new model",
                 _with_hydra({"benign:eval_harness": P.EvalHarnessParams(n_accounts=16)}),
                 focus=("benign:eval_harness",)),
        Scenario("hn_campus", HARD_NEGATIVE, "600 students behind one campus NAT, one domain, one signup week",
                 _with_hydra({"benign:campus": P.CampusParams(n_accounts=600, min_accounts=20)}),
                 focus=("benign:campus",)),
        Scenario("hn_legit_relay", HARD_NEGATIVE, "legitimate resellers relaying ordinary customers' chat",
                 _with_hydra({"benign:relay": P.LegitRelayParams(n_accounts=6, min_accounts=2)}),
                 focus=("benign:relay",)),
        Scenario("hn_sdk_crowd", HARD_NEGATIVE,
                 f"2,000 developers on the campaign's own SDK user agent ({hydra.user_agent})",
                 _with_hydra({"benign:sdk_crowd": P.DeveloperParams(n_accounts=2000, min_accounts=40,
                                                                    requests_mean=3.0,
                                                                    user_agent=hydra.user_agent)}),
                 focus=("benign:sdk_crowd",)),
        Scenario("hn_burst_once", HARD_NEGATIVE, "benign light users who each run one big batch job once",
                 _with_hydra({"benign:burst_once": P.BurstOnceParams(n_accounts=20, min_accounts=4)}),
                 focus=("benign:burst_once",)),
    ]
    return {x.name: x for x in s}


SCENARIOS: dict[str, Scenario] = _build()
"""Scenario name -> :class:`Scenario`, in table order."""


def get_scenario(name: str) -> Scenario:
    """Return a scenario by name.

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None


def scenario_table() -> list[dict[str, Any]]:
    """One dict per scenario (name, kind, description, days, archetypes) for listings and docs."""
    return [{"name": s.name, "kind": s.kind, "description": s.description, "days": s.days,
             "focus": list(s.focus)} for s in SCENARIOS.values()]

