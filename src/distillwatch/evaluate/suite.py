"""``distillwatch evaluate --suite``: every scenario, several reporting seeds, distillwatch and the baselines side by side.

For each scenario of :data:`distillwatch.simulate.scenarios.SCENARIOS` and each seed: simulate the
log, scan it, score the scan against the truth (:func:`distillwatch.evaluate.metrics.evaluate`),
run the baselines (:mod:`distillwatch.evaluate.baselines`) on the same log, and replay it in time
order to find when each campaign is first flagged (:mod:`distillwatch.evaluate.replay`).
Figures are pooled over seeds: precision and recall from the summed TP/FP/FN; ARI is the mean;
times to detection are the worst (largest) over the scenario's campaigns and seeds.

Seeds: thresholds were set on simulator seeds 1-2 (and external seeds 1, 11, 12); the suite's
default reporting seeds :data:`REPORTING_SEEDS` were never used for tuning.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from distillwatch import __version__
from distillwatch.evaluate.metrics import evaluate
from distillwatch.simulate.scenarios import HARD_NEGATIVE, SCENARIOS, Scenario

REPORTING_SEEDS = (301, 302, 303)
"""Seeds of the published table; never used to set a threshold."""

TUNING_SEEDS = (1, 2, 201)
"""Simulator seeds thresholds were set on (never reported): 1-2 for the main job, 201 for the suite."""


@dataclass(frozen=True)
class Floors:
    """The targets of issue 3, checked per scenario (``None`` figures, e.g. recall where a scenario has
    no attack account, are not checked).

    Attributes:
        precision, recall: ban+review, pooled over seeds.
        ban_precision: ban tier.
        ari: campaign grouping: adjusted Rand index over all scored accounts, benign accounts and
            accounts outside predicted campaigns as singletons (``metrics.evaluate``'s ``ari_all``;
            the attack-only ARI is reported too, but with one true campaign it can only be 0 or 1).
        hard_negatives_banned: accounts of a hard-negative scenario's focus archetypes at ``ban``.
        split_recall_drop: recall lost from ``split_1000`` to ``split_20000`` (points, as a fraction).
        share_to_flag: share of a campaign's eventual requests seen before it is first flagged
            (``None``: reported, not checked).
    """

    precision: float = 0.99
    recall: float = 0.97
    ban_precision: float = 0.999
    ari: float = 0.95
    hard_negatives_banned: int = 0
    split_recall_drop: float = 0.05
    share_to_flag: float | None = 0.01


TARGETS = Floors()
"""Issue 3's targets (what ``docs/evaluation.md`` reports against)."""

CI_FLOORS = Floors(precision=0.9, recall=0.9, ban_precision=1.0, ari=0.85, hard_negatives_banned=0,
                   split_recall_drop=0.05, share_to_flag=None)
"""Floors the CI run (one seed at scale 0.03, about 3-8k requests per scenario) must meet. A single
benign account in review moves precision by several points at that size, so precision, recall and
ARI floors sit below the targets; no benign account may be banned and no hard negative either.
Time to detection is reported but not asserted (at this size a one-account relay may go unflagged,
which the recall floor already bounds).
The full-scale figures against the real targets are in ``docs/evaluation.md``."""


@dataclass
class SuiteResult:
    """What a suite run measured.

    Attributes:
        rows: one dict per scenario (pooled figures, see :func:`_pool`).
        runs: one dict per (scenario, seed) with the raw metrics.
        replay: one row per (scenario, seed, campaign) from the streaming replay.
        baselines: one row per (scenario, baseline) pooled over seeds.
        settings: seeds, scale, version, wall time (seconds).
    """

    rows: list[dict]
    runs: list[dict]
    replay: pd.DataFrame
    baselines: list[dict]
    settings: dict = field(default_factory=dict)


def _pr(tp: int, fp: int, fn: int) -> tuple[float | None, float | None]:
    return (tp / (tp + fp) if tp + fp else None, tp / (tp + fn) if tp + fn else None)


def run_scenario(scn: Scenario, seed: int, scale: float, work: Path, corpora=None, intel=None,
                 replay: bool = True, baselines: bool = True) -> dict:
    """Simulate, scan, evaluate, run baselines and replay one scenario at one seed.

    Returns:
        ``{"scenario", "seed", "n_requests", "metrics", "hard_negatives_banned", "replay" (list of
        dicts), "baselines" (list of dicts), "seconds"}``.
    """
    from distillwatch.pipeline import scan

    t0 = time.perf_counter()
    sim_dir, res_dir = work / "sim", work / "scan"
    summ = scn.simulate(sim_dir, seed=seed, scale=scale, corpora=corpora, intel=intel)
    files = {k: Path(v) for k, v in summ.files.items()}
    scan(files["requests"], out=res_dir, accounts=files["accounts"], releases=files["releases"],
         write_report=False)
    truth = pd.read_csv(files["truth"], dtype=str, keep_default_na=False)
    m = evaluate(truth, res_dir)
    hn = 0
    if scn.kind == HARD_NEGATIVE:
        hn = sum(v["ban"] for k, v in m["benign_flagged"].items() if k in scn.focus)
    out = {"scenario": scn.name, "seed": seed, "n_requests": summ.n_requests, "metrics": m,
           "hard_negatives_banned": hn, "replay": [], "baselines": []}
    if baselines:
        out["baselines"] = baselines_on_log(files["requests"], truth, intel)
    if replay and m["n_attack"]:
        from distillwatch.evaluate.replay import replay as run_replay

        rep = run_replay(files["requests"], truth, files["accounts"], files["releases"], workdir=work / "replay")
        out["replay"] = json.loads(rep.to_json(orient="records", date_format="iso"))
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


BASELINE_INPUT_SQL = """
    SELECT f.request_id, f.account_id, f.ts, f.ts_s, f.client_ip, f.user_chars, f.max_tokens, f.is_cot,
           f.capability, f.output_tokens, e.emb
    FROM req_features f JOIN req_embeddings e USING (request_id) ORDER BY f.ts_s, f.request_id"""


def baselines_on_log(requests: str | Path, truth: pd.DataFrame, intel=None) -> list[dict]:
    """Run every baseline of :mod:`distillwatch.evaluate.baselines` on one log and score it.

    The log is read, featurised and embedded with the pipeline's own stages (the baselines see the
    same requests as the scan), then :func:`~distillwatch.evaluate.baselines.run_baselines` flags
    accounts. A campaign is first flagged at the earliest ``first_flag_ts`` of any of its accounts;
    its requests seen by then are counted from the log.

    Returns:
        One dict per baseline: ``baseline, tp, fp, fn, precision, recall, campaigns``
        (``[{campaign, requests, requests_to_flag, share_to_flag}]``), ``max_requests_to_flag``,
        ``max_share_to_flag`` (worst flagged campaign; ``inf`` if a campaign was never flagged) and
        ``campaigns_never_flagged``.
    """
    import numpy as np

    from distillwatch.engine import get_engine
    from distillwatch.evaluate.baselines import run_baselines
    from distillwatch.evaluate.metrics import _pr
    from distillwatch.features.embed import build_request_embeddings, emb_matrix
    from distillwatch.features.request_features import add_ip_intel, build_request_features
    from distillwatch.ingest.requests import read_requests
    from distillwatch.intel import load_intel

    eng = get_engine("duckdb")
    try:
        read_requests(eng, requests)
        add_ip_intel(eng, intel if intel is not None else load_intel(None))
        build_request_features(eng)
        build_request_embeddings(eng)
        t = eng.table(BASELINE_INPUT_SQL)
    finally:
        eng.close()
    req = t.drop(["emb"]).to_pandas()
    res = run_baselines(req, embeddings=emb_matrix(t.column("emb")))
    tr = truth[["account_id", "label", "campaign"]]
    camp_ts = req[["account_id", "ts_s"]].merge(tr[tr["label"] == "attack"], on="account_id")
    out = []
    for b, g in res.groupby("baseline", sort=False):
        m = g.merge(tr, on="account_id", how="inner")
        pos = m["label"] == "attack"
        pr = _pr(m["flagged"].astype(bool), pos)
        camps = []
        for c, ct in camp_ts.groupby("campaign"):
            members = m[(m["campaign"] == c) & m["flagged"]]
            total = len(ct)
            if members.empty:
                camps.append({"campaign": c, "requests": total, "requests_to_flag": None, "share_to_flag": None})
                continue
            first = members["first_flag_ts"].min().timestamp()
            seen = int((ct["ts_s"].to_numpy() <= first + 1e-6).sum())
            camps.append({"campaign": c, "requests": total, "requests_to_flag": seen, "share_to_flag": seen / total})
        flagged = [x for x in camps if x["requests_to_flag"] is not None]
        out.append({"baseline": b, **pr, "campaigns": camps,
                    "max_requests_to_flag": max((x["requests_to_flag"] for x in flagged), default=None),
                    "max_share_to_flag": (max((x["share_to_flag"] for x in flagged), default=None)
                                          if len(flagged) == len(camps) else float(np.inf)),
                    "campaigns_never_flagged": len(camps) - len(flagged)})
    return out


def _pool(name: str, runs: list[dict]) -> dict:
    """Pool one scenario's runs: sums of TP/FP/FN, mean ARI, worst time to detection."""
    br = [r["metrics"]["ban_review"] for r in runs]
    bn = [r["metrics"]["ban"] for r in runs]
    p, rc = _pr(sum(x["tp"] for x in br), sum(x["fp"] for x in br), sum(x["fn"] for x in br))
    bp, br_ = _pr(sum(x["tp"] for x in bn), sum(x["fp"] for x in bn), sum(x["fn"] for x in bn))
    aris = [r["metrics"]["ari"] for r in runs if r["metrics"]["ari"] is not None]
    aris_all = [r["metrics"]["ari_all"] for r in runs if r["metrics"].get("ari_all") is not None]
    reps = [x for r in runs for x in r["replay"]]
    flagged = [x for x in reps if x["flagged"]]
    scn = SCENARIOS[name]
    return {
        "scenario": name, "kind": scn.kind, "description": scn.description, "seeds": len(runs),
        "requests": int(sum(r["n_requests"] for r in runs) / max(len(runs), 1)),
        "attack_accounts": sum(r["metrics"]["n_attack"] for r in runs),
        "benign_accounts": sum(r["metrics"]["n_benign"] for r in runs),
        "precision": p, "recall": rc, "ban_precision": bp, "ban_recall": br_,
        "fp": sum(x["fp"] for x in br), "fn": sum(x["fn"] for x in br), "ban_fp": sum(x["fp"] for x in bn),
        "ari_attack": sum(aris) / len(aris) if aris else None,
        "ari": sum(aris_all) / len(aris_all) if aris_all else None,
        "hard_negatives_banned": sum(r["hard_negatives_banned"] for r in runs),
        "campaigns_replayed": len(reps), "campaigns_never_flagged": len(reps) - len(flagged),
        "max_hours_to_flag": max((x["hours_to_flag"] for x in flagged), default=None),
        "max_requests_to_flag": max((x["requests_to_flag"] for x in flagged), default=None),
        "max_share_to_flag": (max(x["share_to_flag"] for x in flagged) if flagged and len(flagged) == len(reps)
                              else (None if not reps else math.inf)),
    }


def _pool_baselines(name: str, runs: list[dict]) -> list[dict]:
    by: dict[str, list[dict]] = {}
    for r in runs:
        for b in r["baselines"]:
            by.setdefault(b["baseline"], []).append(b)
    out = []
    for base, xs in by.items():
        p, rc = _pr(sum(x["tp"] for x in xs), sum(x["fp"] for x in xs), sum(x["fn"] for x in xs))
        firsts = [x["max_requests_to_flag"] for x in xs if x.get("max_requests_to_flag") is not None]
        shares = [x["max_share_to_flag"] for x in xs if x.get("max_share_to_flag") is not None]
        if any(x.get("campaigns_never_flagged") for x in xs):
            shares.append(math.inf)
        out.append({"scenario": name, "baseline": base, "precision": p, "recall": rc,
                    "fp": sum(x["fp"] for x in xs), "fn": sum(x["fn"] for x in xs),
                    "max_requests_to_flag": max(firsts) if firsts else None,
                    "max_share_to_flag": max(shares) if shares else None,
                    "campaigns_never_flagged": sum(x.get("campaigns_never_flagged", 0) for x in xs)})
    return out


def run_suite(out_dir: str | Path, seeds: Sequence[int] = REPORTING_SEEDS, scale: float = 1.0,
              scenarios: Sequence[str] | None = None, replay: bool = True, baselines: bool = True,
              progress: Callable[[str], object] | None = None, tuning: bool = False) -> SuiteResult:
    """Run the scenario suite.

    Args:
        out_dir: working folder (one sub-folder per scenario and seed, plus ``suite.json``).
        seeds: reporting seeds (never tuning seeds; see :data:`TUNING_SEEDS`).
        scale: simulator scale (1.0 is the full-scale table; CI uses a reduced scale).
        scenarios: names to run (default: all, in table order).
        replay: also replay each log for time to detection (a prefix scan per checkpoint).
        baselines: also run the baseline detectors.
        progress: callback receiving one line per finished run.
        tuning: allow tuning seeds (a development run; ``settings["tuning"]`` marks it and the
            Markdown says it is not a result).

    Returns:
        :class:`SuiteResult`; also written to ``out_dir/suite.json``.

    Raises:
        KeyError: an unknown scenario name.
        ValueError: a tuning seed among ``seeds``.
    """
    from distillwatch.corpora import load_corpora
    from distillwatch.intel import load_intel
    from distillwatch.simulate.scenarios import get_scenario

    bad = sorted(set(seeds) & set(TUNING_SEEDS))
    if bad and not tuning:
        raise ValueError(f"seeds {bad} were used for tuning; pick reporting seeds (e.g. {','.join(map(str, REPORTING_SEEDS))})")
    names = list(scenarios or SCENARIOS)
    scns = [get_scenario(n) for n in names]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    intel = load_intel(None)
    runs: list[dict] = []
    for seed in seeds:
        corpora = load_corpora(seed=seed)
        for scn in scns:
            r = run_scenario(scn, seed, scale, out / scn.name / f"seed-{seed}", corpora, intel, replay, baselines)
            runs.append(r)
            if progress:
                m = r["metrics"]
                progress(f"{scn.name} seed {seed}: {r['n_requests']} requests, P {_f(m['ban_review']['precision'])} "
                         f"R {_f(m['ban_review']['recall'])} ban P {_f(m['ban']['precision'])} ARI {_f(m['ari'])} "
                         f"({r['seconds']} s)")
    rows = [_pool(n, [r for r in runs if r["scenario"] == n]) for n in names]
    base = [b for n in names for b in _pool_baselines(n, [r for r in runs if r["scenario"] == n])]
    rep = pd.DataFrame([{"scenario": r["scenario"], "seed": r["seed"], **x} for r in runs for x in r["replay"]])
    settings = {"seeds": list(seeds), "scale": scale, "version": __version__, "scenarios": names,
                "seconds": round(time.perf_counter() - t0, 1), "replay": replay, "baselines": baselines,
                "tuning": bool(bad)}
    res = SuiteResult(rows, runs, rep, base, settings)
    (out / "suite.json").write_text(json.dumps({"settings": settings, "rows": rows, "baselines": base,
                                                "runs": runs}, indent=2, default=str))
    return res


def _f(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "never"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def check_floors(res: SuiteResult, floors: Floors = TARGETS) -> list[str]:
    """List every floor a suite result misses (empty when all are met).

    Returns:
        Sentences such as ``"split_20000: ban+review recall 0.912 < 0.97"``.
    """
    misses = []
    by = {r["scenario"]: r for r in res.rows}
    for r in res.rows:
        n = r["scenario"]
        for key, label, floor in (("precision", "ban+review precision", floors.precision),
                                  ("recall", "ban+review recall", floors.recall),
                                  ("ban_precision", "ban precision", floors.ban_precision),
                                  ("ari", "ARI", floors.ari)):
            v = r[key]
            if v is not None and v < floor:
                misses.append(f"{n}: {label} {v:.3f} < {floor}")
        if r["hard_negatives_banned"] > floors.hard_negatives_banned:
            misses.append(f"{n}: {r['hard_negatives_banned']} hard-negative accounts banned")
        s = r["max_share_to_flag"]
        if floors.share_to_flag is not None and s is not None and s >= floors.share_to_flag:
            if isinstance(s, float) and math.isinf(s):
                misses.append(f"{n}: a campaign was never flagged, not even with the whole log in "
                              f"(floor: flagged before {floors.share_to_flag} of its requests)")
            else:
                misses.append(f"{n}: a campaign was first flagged after {_f(s)} of its requests "
                              f"(floor {floors.share_to_flag})")
    a, b = by.get("split_1000"), by.get("split_20000")
    if a and b and a["recall"] is not None and b["recall"] is not None and a["recall"] - b["recall"] > floors.split_recall_drop:
        misses.append(f"split: recall falls {a['recall'] - b['recall']:.3f} from 1,000 to 20,000 accounts "
                      f"(floor {floors.split_recall_drop})")
    return misses


NOTES_MARKER = "<!-- notes: hand-written below this line; kept when the tables are regenerated -->"


def write_markdown(res: SuiteResult, path: str | Path, command: str, floors: Floors = TARGETS) -> Path:
    """Write ``docs/evaluation.md``: settings, the distillwatch table, the baselines table, time to
    detection, and the list of targets missed. Text after :data:`NOTES_MARKER` in an existing file
    (the hand-written explanations) is kept.

    Returns:
        ``path``.
    """
    path = Path(path)
    notes = ""
    if path.is_file():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            notes = old.split(NOTES_MARKER, 1)[1].lstrip("\n")
    s = res.settings
    L = ["# Evaluation: the scenario suite", "",
         f"Generated by `{command}` (distillwatch {s['version']}); do not edit the tables by hand.", "",
         *(["**TUNING RUN: these seeds were used to set thresholds; the figures are not results.**", ""]
           if s.get("tuning") else []),
         f"Reporting seeds {', '.join(map(str, s['seeds']))} at simulator scale {s['scale']} "
         f"(thresholds were set on simulator seeds {', '.join(map(str, TUNING_SEEDS))} and external-generator seeds 1, 11-20 and 51; "
         f"none of those is reported here). Figures are pooled over seeds: precision and recall from summed "
         f"true/false positives, ARI averaged, times to detection the worst campaign. Wall time {s['seconds']} s.", "",
         "Targets (issue 3): ban+review precision >= 0.99 and recall >= 0.97; ban precision >= 0.999; 0 hard-negative "
         "accounts banned; ARI >= 0.95; recall at 20,000 accounts within 5 points of 1,000; every campaign flagged "
         "before 1 % of its requests.", "",
         "## distillwatch", "",
         "| scenario | kind | requests/seed | attack / benign accounts | ban+review P | ban+review R | ban P | ARI | ARI (attack only) "
         "| hard negatives banned | requests until first flag (worst) | share of campaign (worst) | hours (worst) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res.rows:
        hn = str(r["hard_negatives_banned"]) if r["kind"] == HARD_NEGATIVE else "-"
        L.append(f"| {r['scenario']} | {r['kind']} | {r['requests']:,} | {r['attack_accounts']} / {r['benign_accounts']} "
                 f"| {_f(r['precision'])} | {_f(r['recall'])} | {_f(r['ban_precision'])} | {_f(r['ari'])} | {_f(r['ari_attack'])} | {hn} "
                 f"| {_f(r['max_requests_to_flag'])} | {_f(r['max_share_to_flag'])} | {_f(r['max_hours_to_flag'])} |")
    L += ["", "Scenarios: " + "; ".join(f"**{r['scenario']}**: {r['description']}" for r in res.rows) + ".", ""]
    if res.baselines:
        names = sorted({b["baseline"] for b in res.baselines})
        L += ["## Baselines, same logs", "",
              "Each baseline flags accounts on its own (see `distillwatch.evaluate.baselines`). Precision and recall "
              "are over the same accounts as above; requests until first flag is the number of a campaign's "
              "requests that had arrived when the baseline first flagged any of its accounts (worst campaign).", "",
              "| scenario | " + " | ".join(f"{n} P / R / first flag" for n in names) + " |",
              "|---|" + "---|" * len(names)]
        for r in res.rows:
            cells = []
            for n in names:
                b = next((x for x in res.baselines if x["scenario"] == r["scenario"] and x["baseline"] == n), None)
                first = "never" if b and b["campaigns_never_flagged"] else _f(b["max_requests_to_flag"]) if b else ""
                cells.append("-" if b is None else f"{_f(b['precision'])} / {_f(b['recall'])} / {first}")
            L.append(f"| {r['scenario']} | " + " | ".join(cells) + " |")
        L.append("")
    if not res.replay.empty:
        L += ["## Time to detection (streaming replay)", "",
              "The log is replayed in time order and the prefix scanned at 0.5 h, every hour from 1 to 24 h, then at 30, "
              "36, 48, 60, 72, 96, 120 ... hours after each campaign's first request (`distillwatch.evaluate.replay`); flagged = any member "
              "in review or ban. Hours are therefore upper bounds at that resolution.", "",
              "| scenario | seed | campaign | accounts | requests | flagged | hours | requests seen | share |",
              "|---|---|---|---|---|---|---|---|---|"]
        for x in res.replay.to_dict("records"):
            L.append(f"| {x['scenario']} | {x['seed']} | {x['campaign']} | {x['accounts']} | {x['requests']} "
                     f"| {'yes' if x['flagged'] else 'no'} | {_f(x['hours_to_flag'])} | {_f(x['requests_to_flag'])} "
                     f"| {_f(x['share_to_flag'])} |")
        L.append("")
    misses = check_floors(res, floors)
    L += ["## Targets missed", ""] + ([f"- {m}" for m in misses] or ["None."]) + [""]
    L += [NOTES_MARKER, "", notes.rstrip() + "\n" if notes else ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L), encoding="utf-8")
    return path
