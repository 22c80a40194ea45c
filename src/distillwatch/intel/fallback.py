"""A tiny built-in IP table used when no IP-intelligence directory is available.

:func:`distillwatch.intel.load_intel` returns a database built from
:data:`FALLBACK_RANGES` (``source == "none"``) when neither an explicit directory,
``$DISTILLWATCH_INTEL_DIR`` nor ``../shared/data/ip`` exists. It lets the simulator
and a demo run anywhere; lookups then enrich only these ranges.

Every entry is a real, published allocation, illustrative only:

* residential / mobile: large eyeball-ISP prefixes from public RIR allocations, with
  the origin AS and organisation as given by the ip-location-db ASN table
  (RouteViews / DB-IP ASN Lite, CC BY 4.0) and the country from DB-IP Country Lite
  ("IP Geolocation by DB-IP", https://db-ip.com, CC BY 4.0), both as of 2025;
* cloud: prefixes from the providers' own machine-readable feeds (cited per entry);
* datacenter / vpn: hosting and VPN networks from X4B ``lists_vpn`` (MIT) and
  bad-asn-list (MIT), cross-checked against RIR allocations;
* tor: exit relays from the February 2024 Tor exit-list snapshot (MIT).

Allocations move; do not use this table for real decisions. ``tests/test_intel.py``
re-checks every entry against the full data when it is present.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa

from .addr import parse_cidr_lines
from .sources import RangeRows

__all__ = ["FallbackRange", "FALLBACK_RANGES", "FALLBACK_HOSTING_ASNS", "fallback_data"]


class FallbackRange(NamedTuple):
    """One built-in range.

    Attributes:
        cidr: network in CIDR notation (IPv4 or IPv6; a bare address is a host route).
        kind: ``residential``, ``mobile``, ``cloud``, ``datacenter``, ``vpn`` or ``tor``.
        asn, org: origin AS number and organisation (``None`` if not recorded).
        country: ISO 3166-1 alpha-2 (``None`` if not recorded).
        provider: ``ipranges_cc0`` provider folder name for ``cloud`` entries.
    """

    cidr: str
    kind: str
    asn: int | None
    org: str | None
    country: str | None
    provider: str | None = None


FALLBACK_RANGES: tuple[FallbackRange, ...] = (
    # --- residential: eyeball ISPs (public RIR allocations; AS/org per RouteViews +
    #     DB-IP ASN Lite, country per DB-IP Country Lite) -------------------------------
    FallbackRange("73.0.0.0/8", "residential", 7922, "Comcast Cable Communications, LLC", "US"),  # ARIN NET-73-0-0-0-1
    FallbackRange("174.80.0.0/13", "residential", 20115, "Charter Communications", "US"),  # ARIN, Charter
    FallbackRange("99.224.0.0/11", "residential", 812, "Rogers Communications Canada Inc.", "CA"),  # ARIN, Rogers
    FallbackRange("79.192.0.0/10", "residential", 3320, "Deutsche Telekom AG", "DE"),  # RIPE DTAG-DIAL
    FallbackRange("86.192.0.0/11", "residential", 3215, "Orange S.A.", "FR"),  # RIPE, Orange
    FallbackRange("86.128.0.0/10", "residential", 2856, "British Telecommunications PLC", "GB"),  # RIPE, BT
    FallbackRange("83.32.0.0/11", "residential", 3352, "TELEFONICA DE ESPANA S.A.U.", "ES"),  # RIPE, Telefonica
    FallbackRange("79.0.0.0/10", "residential", 3269, "Telecom Italia S.p.A.", "IT"),  # RIPE, TIM
    FallbackRange("178.64.0.0/13", "residential", 12389, "PJSC Rostelecom", "RU"),  # RIPE, Rostelecom
    FallbackRange("180.0.0.0/10", "residential", 4713, "NTT Communications Corporation", "JP"),  # APNIC, NTT OCN
    FallbackRange("14.64.0.0/11", "residential", 4766, "Korea Telecom", "KR"),  # APNIC/KRNIC, KT
    FallbackRange("223.144.0.0/12", "residential", 4134, "Chinanet", "CN"),  # APNIC, China Telecom
    FallbackRange("122.184.0.0/14", "residential", 9498, "Bharti Airtel Limited", "IN"),  # APNIC, Airtel
    FallbackRange("14.200.0.0/14", "residential", 7545, "TPG Internet Pty Ltd", "AU"),  # APNIC, TPG
    FallbackRange("179.136.0.0/13", "residential", 28573, "Claro NXT Telecomunicacoes Ltda", "BR"),  # LACNIC, Claro
    FallbackRange("2601::/24", "residential", 7922, "Comcast Cable Communications, LLC", "US"),  # ARIN, Comcast IPv6
    FallbackRange("2003::/23", "residential", 3320, "Deutsche Telekom AG", "DE"),  # RIPE, DTAG IPv6
    # --- mobile carriers ---------------------------------------------------------------
    FallbackRange("100.128.0.0/9", "mobile", 21928, "T-Mobile USA, Inc.", "US"),  # ARIN, T-Mobile USA
    FallbackRange("36.184.0.0/13", "mobile", 9808, "China Mobile", "CN"),  # APNIC, China Mobile
    FallbackRange("84.112.0.0/14", "mobile", 8412, "T-Mobile Austria GmbH", "AT"),  # RIPE, Magenta (T-Mobile AT)
    FallbackRange("5.46.0.0/15", "mobile", 20978, "TT Mobil Iletisim Hizmetleri A.S", "TR"),  # RIPE, Turk Telekom mobile
    # --- cloud: the providers' published feeds -------------------------------------------
    # AWS https://ip-ranges.amazonaws.com/ip-ranges.json (EC2 us-east-1 / eu-central-1)
    FallbackRange("3.80.0.0/12", "cloud", 14618, "Amazon.com, Inc.", "US", "amazon"),
    FallbackRange("3.64.0.0/12", "cloud", 16509, "Amazon.com, Inc.", "DE", "amazon"),
    FallbackRange("2600:1f18::/33", "cloud", 14618, "Amazon.com, Inc.", "US", "amazon"),
    # Google Cloud https://www.gstatic.com/ipranges/cloud.json (europe-west1, us-central1, asia-east1)
    FallbackRange("34.76.0.0/14", "cloud", 396982, "Google LLC", "BE", "google"),
    FallbackRange("34.28.0.0/14", "cloud", 396982, "Google LLC", "US", "google"),
    FallbackRange("2600:1900:4030::/44", "cloud", 396982, "Google LLC", "TW", "google"),
    # Azure Service Tags, AzureCloud.uksouth / .australiaeast
    # (https://www.microsoft.com/download/details.aspx?id=56519)
    FallbackRange("4.158.0.0/15", "cloud", 8075, "Microsoft Corporation", "GB", "microsoft"),
    FallbackRange("20.5.0.0/16", "cloud", 8075, "Microsoft Corporation", "AU", "microsoft"),
    # Oracle Cloud https://docs.oracle.com/iaas/tools/public_ip_ranges.json (us-ashburn-1)
    FallbackRange("129.80.0.0/16", "cloud", 31898, "Oracle Corporation", "US", "oracle"),
    FallbackRange("150.136.0.0/16", "cloud", 31898, "Oracle Corporation", "US", "oracle"),
    # DigitalOcean geofeed https://digitalocean.com/geo/google.csv (NJ, US)
    FallbackRange("104.131.0.0/18", "cloud", 14061, "DigitalOcean, LLC", "US", "digitalocean"),
    FallbackRange("104.236.0.0/18", "cloud", 14061, "DigitalOcean, LLC", "US", "digitalocean"),
    # Linode (Akamai) geofeed https://geoip.linode.com/
    FallbackRange("50.116.0.0/18", "cloud", 63949, "Akamai Technologies, Inc.", "US", "linode"),
    FallbackRange("139.162.192.0/18", "cloud", 63949, "Akamai Technologies, Inc.", "GB", "linode"),
    # --- datacenter: hosting networks (X4B lists_vpn datacenter list, bad-asn-list) -----
    FallbackRange("116.202.0.0/15", "datacenter", 24940, "Hetzner Online GmbH", "DE"),  # RIPE, Hetzner
    FallbackRange("85.17.0.0/16", "datacenter", 60781, "LeaseWeb Netherlands B.V.", "NL"),  # RIPE, LeaseWeb
    FallbackRange("51.81.0.0/17", "datacenter", 16276, "OVH SAS", "US"),  # ARIN, OVH US
    FallbackRange("144.202.0.0/17", "datacenter", 20473, "The Constant Company, LLC", "US"),  # ARIN, Vultr
    # --- vpn: X4B lists_vpn output_vpn_ipv4 (provider ASNs on input_vpn_ASN.txt) --------
    FallbackRange("188.172.176.0/20", "vpn", 136787, "PacketHub S.A.", "US"),  # NordVPN (TEFINCOM)
    FallbackRange("172.216.80.0/20", "vpn", 209854, "Cyberzone S.A.", "US"),  # Surfshark
    FallbackRange("104.233.32.0/20", "vpn", 212238, "Datacamp Limited", "SG"),  # Datacamp / CDN77
    # --- tor: exits from the February 2024 exit-list snapshot ---------------------------
    FallbackRange("185.220.101.1", "tor", 60729, "Stiftung Erneuerbare Freiheit", "DE"),
    FallbackRange("185.220.101.10", "tor", 60729, "Stiftung Erneuerbare Freiheit", "DE"),
    FallbackRange("107.189.1.160", "tor", 53667, "FranTech Solutions", "LU"),
    FallbackRange("2.58.56.248", "tor", 210558, "1337 Services GmbH", "NL"),
    FallbackRange("85.209.176.103", "tor", 399486, "12651980 CANADA INC.", "FR"),
    FallbackRange("2001:470:1:908::9001", "tor", 6939, "Hurricane Electric LLC", "US"),
)
"""The built-in table (under 60 entries). See the module docstring for sources."""

FALLBACK_HOSTING_ASNS: tuple[int, ...] = (
    6939, 8075, 14061, 14618, 16276, 16509, 20473, 24940, 53667, 60781, 63949, 212238,
)
"""ASNs of the table that are on bad-asn-list (MIT), so ``is_hosting_asn`` matches the full data."""


def _ranges(entries) -> dict:
    parsed, bad = parse_cidr_lines([e.cidr for e in entries])
    if bad:  # pragma: no cover - guarded by tests
        raise ValueError("invalid CIDR in FALLBACK_RANGES")
    out = {}
    if parsed[4][0].size:
        out[4] = ((parsed[4][0],), (parsed[4][1],))
    if parsed[6][0][0].size:
        out[6] = parsed[6]
    return out


def _rows(entries, columns: dict[str, pa.DataType]) -> dict:
    """Family -> RangeRows for entries, payload columns taken from the entry fields."""
    out = {}
    for fam in (4, 6):
        sel = [e for e in entries if (":" in e.cidr) == (fam == 6)]
        if not sel:
            continue
        r = _ranges(sel)[fam]
        cols = {name: pa.array([getattr(e, field) for e in sel], type=typ) for name, (field, typ) in columns.items()}
        out[fam] = RangeRows(r[0], r[1], cols)
    return out


def fallback_data():
    """:class:`~distillwatch.intel.db.IntelData` built from :data:`FALLBACK_RANGES`."""
    from .db import IntelData

    data = IntelData()
    with_asn = [e for e in FALLBACK_RANGES if e.asn is not None]
    data.asn = _rows(with_asn, {"asn": ("asn", pa.int64()), "org": ("org", pa.string())})
    with_cc = [e for e in FALLBACK_RANGES if e.country is not None]
    data.country = _rows(with_cc, {"country": ("country", pa.string())})
    for e in FALLBACK_RANGES:
        if e.kind == "cloud" and e.provider:
            data.cloud.setdefault(e.provider, [])
    data.cloud = {p: _ranges([e for e in FALLBACK_RANGES if e.provider == p]) for p in data.cloud}
    data.datacenter = _ranges([e for e in FALLBACK_RANGES if e.kind == "datacenter"])
    data.vpn = _ranges([e for e in FALLBACK_RANGES if e.kind == "vpn"])
    data.tor = _ranges([e for e in FALLBACK_RANGES if e.kind == "tor"])
    data.hosting_asns = np.asarray(sorted(FALLBACK_HOSTING_ASNS), dtype=np.int64)
    return data
