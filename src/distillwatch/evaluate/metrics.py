"""Score a scan's results against labelled truth: precision, recall, false positives per archetype, ARI.

Definitions (standard):

* precision = TP / (TP + FP), recall = TP / (TP + FN), where an account is *flagged* when its
  tier is in the flagged set (``ban`` + ``review``, or ``ban`` alone) and *positive* when its
  truth label is ``attack``. An empty denominator gives ``None``, never a made-up 1.0.
* ARI is the adjusted Rand index (Hubert & Arabie 1985, scikit-learn's ``adjusted_rand_score``)
  between true campaign names and predicted ``campaign_id`` over attack accounts; an attack
  account outside every predicted campaign is its own singleton cluster. With a single true
  campaign this is 1 only for a perfect grouping and 0 for anything else, so ``ari_all`` is also
  given: the same index over every scored account, where each benign account and each account
  outside a predicted campaign is its own singleton (a benign account pulled into a campaign, or
  a campaign split in two, lowers it in proportion).

Only accounts present in both ``truth.csv`` and ``accounts.csv`` are scored; the counts of
accounts missing on either side are reported.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from distillwatch.errors import InputError
from distillwatch.schema import TRUTH_COLUMNS


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    """Read a CSV as strings; clear errors for a directory, a missing or an empty file."""
    if path.is_dir():
        raise InputError(f"{path}: {what} must be a CSV file, and this is a directory")
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: {what} is empty (no header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: {what} is not a readable CSV file: {exc}") from exc


def _pr(flag: pd.Series, pos: pd.Series) -> dict:
    tp = int((flag & pos).sum())
    fp = int((flag & ~pos).sum())
    fn = int((~flag & pos).sum())
    return {"tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None}


def evaluate(truth: str | Path | pd.DataFrame, results: str | Path) -> dict:
    """Compare ``results/accounts.csv`` with ``truth.csv`` (``account_id,label,campaign``).

    Returns:
        dict with ``ban_review`` and ``ban`` (each tp/fp/fn/precision/recall), ``ari``,
        ``per_campaign`` recall, ``benign_flagged`` (per benign archetype: accounts, review, ban),
        ``n_scored``, ``missing_in_results``, ``missing_in_truth``.

    Raises:
        InputError: truth file lacks the required columns or labels other than attack/benign, the
            results folder has no usable ``accounts.csv``, or no scored account is in the truth file
            (the truth of another log).
    """
    from sklearn.metrics import adjusted_rand_score

    if isinstance(truth, pd.DataFrame):
        t = truth
    else:
        t = _read_csv(Path(truth), "truth file")
    missing = set(TRUTH_COLUMNS) - set(t.columns)
    if missing:
        raise InputError(f"{truth}: truth file lacks columns {sorted(missing)}")
    bad = set(t["label"]) - {"attack", "benign"}
    if bad:
        raise InputError(f"{truth}: label must be attack or benign, found {sorted(bad)}")
    results = Path(results)
    if not results.is_dir():
        raise InputError(f"{results}: --results must be a scan's output directory (with accounts.csv)")
    if not (results / "accounts.csv").is_file():
        raise InputError(f"{results}: no accounts.csv here; run `distillwatch scan ... --out {results}` first")
    acc = _read_csv(results / "accounts.csv", "accounts.csv")
    lacking = {"account_id", "tier", "campaign_id"} - set(acc.columns)
    if lacking:
        raise InputError(f"{results / 'accounts.csv'}: lacks columns {sorted(lacking)}")
    if t.empty:
        raise InputError(f"{truth}: truth file has no rows")
    m = t.merge(acc, on="account_id", how="inner")
    if m.empty and not acc.empty:
        raise InputError(f"{truth}: no account of the truth file is in {results / 'accounts.csv'} "
                         f"({len(t):,} truth accounts, {len(acc):,} scored): is it the truth of another log?")
    pos = m["label"] == "attack"
    out = {
        "n_scored": int(len(m)),
        "n_attack": int(pos.sum()),
        "n_benign": int((~pos).sum()),
        "missing_in_results": int((~t["account_id"].isin(acc["account_id"])).sum()),
        "missing_in_truth": int((~acc["account_id"].isin(t["account_id"])).sum()),
        "ban_review": _pr(m["tier"].isin(["ban", "review"]), pos),
        "ban": _pr(m["tier"] == "ban", pos),
    }
    att = m[pos]
    pred = [c if c else f"__single_{a}" for a, c in zip(att["account_id"], att["campaign_id"])]
    out["ari"] = float(adjusted_rand_score(att["campaign"], pred)) if len(att) > 1 else None
    true_all = [c if lab == "attack" else f"__benign_{a}" for a, c, lab in zip(m["account_id"], m["campaign"], m["label"])]
    pred_all = [c if c else f"__single_{a}" for a, c in zip(m["account_id"], m["campaign_id"])]
    out["ari_all"] = float(adjusted_rand_score(true_all, pred_all)) if len(att) > 1 else None
    per = {}
    for name, g in att.groupby("campaign"):
        per[name] = {"accounts": int(len(g)), "flagged": int(g["tier"].isin(["ban", "review"]).sum()),
                     "banned": int((g["tier"] == "ban").sum()),
                     "recall": float(g["tier"].isin(["ban", "review"]).mean()),
                     "campaign_ids": sorted(set(c for c in g["campaign_id"] if c))}
    out["per_campaign"] = per
    ben = {}
    for name, g in m[~pos].groupby("campaign"):
        ben[name] = {"accounts": int(len(g)), "review": int((g["tier"] == "review").sum()),
                     "ban": int((g["tier"] == "ban").sum())}
    out["benign_flagged"] = ben
    return out


def format_report(ev: dict) -> str:
    """Plain-text table of an :func:`evaluate` result (what ``distillwatch evaluate`` prints)."""
    def f(x):
        return "n/a" if x is None else f"{x:.3f}"

    lines = [f"accounts scored: {ev['n_scored']} ({ev['n_attack']} attack, {ev['n_benign']} benign; "
             f"{ev['missing_in_results']} truth accounts absent from results (accounts with no scored request in the log, "
             f"so there is nothing to score), {ev['missing_in_truth']} result accounts absent from truth)",
             *([f"warning: {ev['missing_in_truth']:,} scored accounts are not in the truth file; the figures below "
                f"cover only the {ev['n_scored']:,} that are (is the truth file for this log?)"]
               if ev["missing_in_truth"] else []),
             f"ban+review: precision {f(ev['ban_review']['precision'])}  recall {f(ev['ban_review']['recall'])}  "
             f"(tp {ev['ban_review']['tp']}, fp {ev['ban_review']['fp']}, fn {ev['ban_review']['fn']})",
             f"ban:        precision {f(ev['ban']['precision'])}  recall {f(ev['ban']['recall'])}  "
             f"(tp {ev['ban']['tp']}, fp {ev['ban']['fp']}, fn {ev['ban']['fn']})",
             f"campaign grouping ARI (attack accounts): {f(ev['ari'])}; over all accounts, others as singletons: "
             f"{f(ev.get('ari_all'))}",
             "per campaign:"]
    for k, v in ev["per_campaign"].items():
        lines.append(f"  {k:<28} accounts {v['accounts']:>5}  flagged {v['flagged']:>5}  banned {v['banned']:>5}  "
                     f"recall {v['recall']:.3f}  campaigns {','.join(v['campaign_ids']) or '-'}")
    lines.append("false positives per benign archetype:")
    for k, v in ev["benign_flagged"].items():
        lines.append(f"  {k:<28} accounts {v['accounts']:>5}  review {v['review']:>5}  ban {v['ban']:>5}")
    return "\n".join(lines)
