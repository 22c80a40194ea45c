"""Traffic simulator: labelled API request logs with benign archetypes (hard negatives
included) and distillation campaigns, built on real prompt corpora and real IP ranges.

``simulate(out_dir, seed=0, scale=1.0)`` writes ``requests.jsonl``, ``accounts.jsonl``,
``releases.jsonl``, ``truth.csv`` and ``manifest.json``. ``SCENARIO_DEFAULTS`` holds the
archetype parameter sets. See ``docs/simulator.md``.
"""

from distillwatch.simulate.core import GENERATORS, SimulationSummary, simulate
from distillwatch.simulate.params import (
    ATTACK_ARCHETYPES,
    BENIGN_ARCHETYPES,
    SCENARIO_DEFAULTS,
    BurstOnceParams,
    LegitRelayParams,
    ArchetypeParams,
    CampusParams,
    CarefulRingParams,
    CasualParams,
    CodingAgentParams,
    CotHarvestParams,
    DeveloperParams,
    EnterpriseParams,
    EvalHarnessParams,
    HydraParams,
    ResellerParams,
)
from distillwatch.simulate.world import Adoption, WorldParams

__all__ = [
    "ATTACK_ARCHETYPES",
    "BENIGN_ARCHETYPES",
    "BurstOnceParams",
    "LegitRelayParams",
    "GENERATORS",
    "SCENARIO_DEFAULTS",
    "Adoption",
    "ArchetypeParams",
    "CampusParams",
    "CarefulRingParams",
    "CasualParams",
    "CodingAgentParams",
    "CotHarvestParams",
    "DeveloperParams",
    "EnterpriseParams",
    "EvalHarnessParams",
    "HydraParams",
    "ResellerParams",
    "SimulationSummary",
    "WorldParams",
    "simulate",
]
