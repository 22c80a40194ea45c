"""Sharing evidence: STIX 2.1 indicators and OCSF findings.

STIX (:mod:`distillwatch.share.stix`, needs the ``stix2`` package): :func:`export_stix`,
:func:`import_stix`, :func:`match_indicators`. Keyed template fingerprints
(:mod:`distillwatch.share.fingerprint`): :func:`template_fingerprint`, :func:`load_share_key`.
Names are resolved on first use, so importing this package does not import ``stix2``.
"""

from __future__ import annotations

_LAZY = {
    "export_stix": "distillwatch.share.stix",
    "import_stix": "distillwatch.share.stix",
    "match_indicators": "distillwatch.share.stix",
    "read_indicators": "distillwatch.share.stix",
    "template_fingerprint": "distillwatch.share.fingerprint",
    "load_share_key": "distillwatch.share.fingerprint",
    "key_id": "distillwatch.share.fingerprint",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'distillwatch.share' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
