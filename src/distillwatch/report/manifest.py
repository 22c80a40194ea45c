"""Chain of custody: ``manifest.json`` in every results directory, and ``verify`` to check it.

The manifest records what produced the results: the SHA-256 of each input file, the exact
configuration (linking and scoring parameters, engine), the project and library versions, the
IP-intelligence files with their hashes, and the SHA-256 of every output file. ``verify``
re-hashes the outputs (and the inputs, where they are still at their recorded paths) and lists
every mismatch, so a one-byte change in any output is detected.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import orjson

MANIFEST = "manifest.json"
LIBRARIES = ("duckdb", "pyarrow", "pandas", "numpy", "igraph", "scikit-learn", "jinja2", "matplotlib")
"""Libraries whose versions are recorded (the ones that compute or render results)."""


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = None
    return out


def write_manifest(out: Path, inputs: dict[str, str | Path | None], config: dict, summary: dict) -> Path:
    """Write ``out/manifest.json`` covering every file now in ``out`` (except the manifest itself).

    Args:
        out: the results directory.
        inputs: role -> input file path (``requests``, ``accounts``, ``releases``); ``None`` skipped.
        config: the exact configuration used (dataclasses are converted to dicts).
        summary: the scan summary (for the IP-intelligence file list and counts).

    Returns:
        the manifest path.
    """
    from distillwatch import __version__

    cfg = {k: (dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v) for k, v in config.items()}
    manifest = {
        "manifest_version": 1,
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "distillwatch_version": __version__,
        "library_versions": _versions(),
        "inputs": {role: {"path": str(Path(p).resolve()), "sha256": sha256_file(Path(p)),
                          "bytes": Path(p).stat().st_size}
                   for role, p in inputs.items() if p},
        "config": cfg,
        "ip_intelligence": {"source": summary.get("data_versions", {}).get("intel_source"),
                            "files": summary.get("data_versions", {}).get("intel_files", {})},
        "counts": {k: summary.get(k) for k in ("rows_read", "rows_scored", "rows_quarantined", "accounts",
                                               "campaigns", "tiers")},
        "outputs": {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                    for p in sorted(Path(out).iterdir()) if p.is_file() and p.name != MANIFEST},
    }
    path = Path(out) / MANIFEST
    path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path


def verify(results_dir: str | Path, check_inputs: bool = True) -> tuple[list[str], list[str]]:
    """Re-hash a results directory against its manifest.

    Returns:
        ``(problems, notes)``. ``problems``: one line per changed or missing output file and (when
        ``check_inputs``) per changed input file; empty means everything recorded still matches.
        ``notes``: files added after the scan (e.g. ``evaluation.json``) and inputs no longer at
        their recorded path, which cannot be checked.

    Raises:
        FileNotFoundError: no ``manifest.json`` in ``results_dir``.
        ValueError: the manifest is not valid JSON, or records no outputs or malformed ones.
    """
    d = Path(results_dir)
    path = d / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest (is this a distillwatch results directory?)")
    try:
        m = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    listed = m.get("outputs") if isinstance(m, dict) else None
    if not isinstance(listed, dict) or not listed or not all(
            isinstance(r, dict) and isinstance(r.get("sha256"), str) for r in listed.values()):
        raise ValueError(f"{path}: malformed manifest: it must record a SHA-256 for every output file "
                         "(an empty or edited manifest cannot vouch for anything)")
    inputs = m.get("inputs", {})
    if not isinstance(inputs, dict):
        raise ValueError(f"{path}: malformed manifest: 'inputs' must be an object")
    problems, notes = [], []
    for name, rec in sorted(listed.items()):
        f = d / name
        if not f.is_file():
            problems.append(f"output {name}: missing")
        elif sha256_file(f) != rec["sha256"]:
            problems.append(f"output {name}: SHA-256 differs from the manifest")
    for f in sorted(d.iterdir()):
        if f.is_file() and f.name != MANIFEST and f.name not in listed:
            notes.append(f"output {f.name}: added after the scan (not in the manifest)")
    if check_inputs:
        for role, rec in sorted(inputs.items()):
            if not isinstance(rec, dict) or not isinstance(rec.get("path"), str):
                problems.append(f"input {role}: malformed manifest entry")
                continue
            p = Path(rec["path"])
            if not p.is_file():
                notes.append(f"input {role} ({p}): not checked, the file is not at its recorded path")
            elif sha256_file(p) != rec["sha256"]:
                problems.append(f"input {role} ({p}): SHA-256 differs from the manifest")
    return problems, notes
