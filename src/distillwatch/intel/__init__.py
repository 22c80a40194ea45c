"""IP intelligence: ASN, country, cloud / VPN / Tor / datacenter enrichment and samplers.

Typical use::

    from distillwatch.intel import load_intel

    intel = load_intel()                      # $DISTILLWATCH_INTEL_DIR or ../shared/data/ip
    table = intel.lookup(distinct_ips)        # pyarrow.Table, LOOKUP_SCHEMA, same order
    ips = intel.sample_ips("residential", 100, numpy.random.default_rng(0), country="DE")

Data (read from a directory the user points at, never bundled; see ``docs/intel.md``):

* ``ip-location-db/asn``: IP to ASN, CC BY 4.0: RouteViews, DB-IP ASN Lite, NRO;
* ``ip-location-db/dbip-country``: "IP Geolocation by DB-IP" (https://db-ip.com), CC BY 4.0;
* ``ipranges_cc0/<provider>``: cloud provider CIDRs, CC0;
* ``x4bnet_lists_vpn``: datacenter and VPN CIDRs, MIT (X4B);
* ``bad_asn``: hosting ASNs, MIT; ``tor``: Tor exit list (February 2024), MIT.

Without any directory, :func:`load_intel` returns a small built-in table of published
ranges (:mod:`distillwatch.intel.fallback`, ``IntelDB.source == "none"``).
"""

from __future__ import annotations

from .db import (
    COMPUTE_PROVIDERS,
    ENV_VAR,
    LOOKUP_SCHEMA,
    PROXY_KINDS,
    IntelDB,
    clear_intel_cache,
    fallback_intel,
    load_intel,
    resolve_intel_dir,
)
from .errors import IntelError
from .fallback import FALLBACK_RANGES
from .sampling import SAMPLE_KINDS
from .sources import ATTRIBUTION, expected_files

__all__ = [
    "ATTRIBUTION",
    "COMPUTE_PROVIDERS",
    "ENV_VAR",
    "FALLBACK_RANGES",
    "LOOKUP_SCHEMA",
    "PROXY_KINDS",
    "SAMPLE_KINDS",
    "IntelDB",
    "IntelError",
    "clear_intel_cache",
    "expected_files",
    "fallback_intel",
    "load_intel",
    "resolve_intel_dir",
]
