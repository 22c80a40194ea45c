"""Address samplers behind :meth:`IntelDB.sample_ips` (IPv4 only).

All IPv4 range tables of an :class:`~distillwatch.intel.db.IntelDB` are cut along the
union of their boundaries into one *joint segmentation*; every joint segment has a
single ASN row, country, cloud provider and datacenter / VPN / Tor / bogon flags.
A kind is a boolean filter over the joint segments, so a sampled address looks up
exactly as its kind promises. Built lazily on the first call (about 0.5 s on the
full shared data) and cached on the database instance.
"""

from __future__ import annotations

import ipaddress
import re
import threading

import numpy as np
import pyarrow.compute as pc

from .addr import format_v4, format_v6, parse_cidr_lines
from .errors import IntelError
from .segments import build_segments

__all__ = ["Sampler", "SAMPLE_KINDS", "HOSTING_ORG_REGEX", "INSTITUTION_ORG_REGEX", "MOBILE_ORG_REGEX", "TELECOM_ORG_REGEX", "WEIGHT_CAP"]

SAMPLE_KINDS = ("residential", "mobile", "datacenter", "cloud", "vpn", "tor")
"""Kinds accepted by ``sample_ips`` (plus ``cloud:<provider>``)."""

WEIGHT_CAP = 65536
"""A range's sampling weight is ``min(size, WEIGHT_CAP)`` addresses (one /16)."""

HOSTING_ORG_REGEX = (
    r"(?i)host|server|cloud|data ?cent(er|re)|datacenter|colo(cation)?\b|\bvps\b|\bvds\b|dedicated|\bcdn\b|"
    r"\bvpn|proxy|proxies|amazon|\baws\b|google|microsoft|azure|akamai|fastly|cloudflare|digitalocean|"
    r"linode|vultr|choopa|\bovh|hetzner|leaseweb|contabo|\bm247\b|datacamp|alibaba|tencent|oracle|\bibm\b|"
    r"softlayer|rackspace|scaleway|ionos|godaddy|hostinger|psychz|quadranet|cogent|level 3|hurricane electric|"
    r"\bzayo\b|\bgtt\b|carrier services|internet exchange|\bix\b|content delivery"
)
"""Organisation names treated as hosting / transit (never residential)."""

INSTITUTION_ORG_REGEX = (
    r"(?i)universi|college|school|academ|institut|research|educat|ministry|department of|government|"
    r"\bgov\b|defen[cs]e|military|\barmy\b|\bnavy\b|air force|\bdod\b|network information cent|"
    r"\bbank|insurance|hospital|health|forschung|network coordination|\bcity of\b|\bcounty\b|\bstate of\b|"
    r"automobil|\bmotor|exxon"
)
"""Organisation names treated as institutions or single corporations (not consumer
eyeball networks). A heuristic: it removes the largest non-ISP holders (defence,
research networks, universities, car makers) without claiming completeness."""

MOBILE_ORG_REGEX = r"(?i)\bmobil|wireless|cellular|cellco|celular|m[oó]vil|\blte\b|\bgsm\b"
"""Organisation names preferred for ``mobile`` samples."""

TELECOM_ORG_REGEX = r"(?i)telecom|telekom|telecomunica|\btelco\b|telefonica|telef[oó]nica"
"""Second choice for ``mobile`` samples when no mobile-named carrier is available."""

# IANA special-purpose IPv4 registry (RFC 6890 and successors): never sampled.
_BOGONS = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)

_SPACE_END = np.uint64(1 << 32)


class Sampler:
    """Joint IPv4 segmentation of an IntelDB plus cached per-kind pools."""

    def __init__(self, db):
        self.db = db
        fi = db._fam[4]
        ranges, _ = parse_cidr_lines(_BOGONS)
        bogon = build_segments((ranges[4][0],), (ranges[4][1],), boolean=True)
        indexes = [fi.asn, fi.country, fi.cloud, fi.dc, fi.vpn, fi.tor, bogon]
        bounds = np.unique(np.concatenate([ix.bounds[0] for ix in indexes] + [np.zeros(1, np.uint64)]))
        bounds = bounds[bounds < _SPACE_END]
        sizes = np.diff(np.append(bounds, _SPACE_END))
        q = (bounds,)
        self.starts = bounds
        self.sizes = sizes
        self.asn_row = fi.asn.lookup(q)
        self.cc_row = fi.country.lookup(q)
        self.cloud = fi.cloud.lookup(q)
        self.dc = fi.dc.covered(q)
        self.vpn = fi.vpn.covered(q)
        self.tor = fi.tor.covered(q)
        self.bogon = bogon.covered(q)

        # Per-ASN-row classification (vectorised over the org strings).
        asn = db._asn
        org = db._org
        nrow = asn.size

        def org_match(pattern: str) -> np.ndarray:
            """Boolean mask over ASN rows: organisation name matches ``pattern`` (null names: False)."""
            if nrow == 0:
                return np.zeros(0, dtype=bool)
            return pc.fill_null(pc.match_substring_regex(org, pattern), False).to_numpy(zero_copy_only=False)

        excluded = np.union1d(db.hosting_asns, db.listed_asns)
        row_ok = (asn >= 0) & ~np.isin(asn, excluded) & ~org_match(HOSTING_ORG_REGEX) & ~org_match(INSTITUTION_ORG_REGEX)
        self.row_mobile = org_match(MOBILE_ORG_REGEX)
        self.row_telecom = org_match(TELECOM_ORG_REGEX)
        has_asn = self.asn_row >= 0
        rows = np.maximum(self.asn_row, 0)
        clean = ~self.dc & ~self.vpn & ~self.tor & (self.cloud < 0) & ~self.bogon & (sizes > 0)
        self.residential = clean & has_asn & (row_ok[rows] if nrow else False)
        self.mobile_strong = self.residential & (self.row_mobile[rows] if nrow else False)
        self.mobile_weak = self.residential & (self.row_telecom[rows] if nrow else False)
        # Country of every joint segment as a small integer code into ``cc_names``.
        if len(db._cc):
            enc = pc.dictionary_encode(db._cc)
            self.cc_names = list(enc.dictionary.to_pylist())
            row_code = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
            self.seg_cc = np.where(self.cc_row >= 0, row_code[np.maximum(self.cc_row, 0)], -1).astype(np.int32)
        else:
            self.cc_names = []
            self.seg_cc = np.full(self.starts.size, -1, dtype=np.int32)
        self._pools: dict = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ kinds
    def available_kinds(self) -> list[str]:
        """Kinds ``sample`` can serve with the loaded data.

        Every kind of ``SAMPLE_KINDS`` with at least one segment (``mobile`` when any residential
        range exists, as it falls back to residential), then ``cloud:<provider>`` for each loaded
        provider with ranges.
        """
        out = []
        for kind in SAMPLE_KINDS:
            if (self.residential if kind == "mobile" else self._mask(kind)).any():
                out.append(kind)
        for name in self.db.providers:
            if self._mask(f"cloud:{name}").any():
                out.append(f"cloud:{name}")
        return out

    def _mask(self, kind: str) -> np.ndarray:
        base = ~self.bogon & (self.sizes > 0)
        if kind == "residential":
            return self.residential
        if kind == "mobile":
            return self.mobile_strong
        if kind == "mobile_weak":
            return self.mobile_weak
        if kind == "datacenter":
            return base & self.dc & (self.cloud < 0) & ~self.vpn & ~self.tor
        if kind == "vpn":
            return base & self.vpn & ~self.tor
        if kind == "tor":
            return base & self.tor
        if kind == "cloud":
            codes = [k for k, p in enumerate(self.db.providers) if p in _compute()]
            if not codes:  # no compute cloud loaded: any provider
                codes = list(range(len(self.db.providers)))
            return base & np.isin(self.cloud, codes) & ~self.vpn & ~self.tor
        if kind.startswith("cloud:"):
            name = kind.split(":", 1)[1]
            if name not in self.db.providers:
                raise IntelError(
                    f"cloud provider {name!r} is not loaded (source {self.db.source}); "
                    f"available: {', '.join(self.db.providers) or 'none'}"
                )
            code = self.db.providers.index(name)
            return base & (self.cloud == code) & ~self.vpn & ~self.tor
        raise IntelError(f"unknown sample kind {kind!r}; expected one of {', '.join(SAMPLE_KINDS)} or cloud:<provider>")

    def _kind_indices(self, kind: str) -> np.ndarray:
        """Joint-segment indices serving ``kind`` (cached)."""
        key = ("idx", kind)
        out = self._pools.get(key)
        if out is None:
            out = np.nonzero(self._mask(kind))[0]
            with self._lock:
                self._pools[key] = out
        return out

    def _pool(self, kind: str, country: str | None):
        key = (kind, country)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        tiers = ["mobile", "mobile_weak", "residential"] if kind == "mobile" else [kind]
        if country is not None and not self.cc_names:
            raise IntelError(f"no country data loaded (source {self.db.source}); cannot restrict to {country!r}")
        code = self.cc_names.index(country) if country in self.cc_names else -2
        idx = np.zeros(0, dtype=np.int64)
        for tier in tiers:
            idx = self._kind_indices(tier)
            if country is not None:
                idx = idx[self.seg_cc[idx] == code]
            if idx.size:
                break
        if idx.size == 0:
            where = f" in country {country}" if country else ""
            raise IntelError(f"cannot sample {kind!r}{where}: no matching ranges in the loaded data (source {self.db.source})")
        starts = self.starts[idx]
        sizes = self.sizes[idx]
        weights = np.minimum(sizes, WEIGHT_CAP).astype(np.float64)
        pool = (starts, sizes, np.cumsum(weights))
        with self._lock:
            self._pools[key] = pool
        return pool

    # ------------------------------------------------------------------ public
    def sample(self, kind: str, n: int, rng: np.random.Generator, country: str | None) -> list[str]:
        """Draw ``n`` IPv4 addresses of ``kind``; the worker behind ``IntelDB.sample_ips``.

        Ranges (joint segments) are picked with weight ``min(size, WEIGHT_CAP)``, then an address
        uniformly inside, moved off a ``.0`` / ``.255`` host octet when the segment allows. ``mobile``
        falls back to telecom-named, then to any residential ranges.

        Args:
            kind: one of ``SAMPLE_KINDS`` or ``cloud:<provider>`` (case-insensitive).
            n: number of addresses, ``>= 0``.
            rng: ``numpy.random.Generator``; the result is deterministic for its state.
            country: ISO 3166-1 alpha-2 code to restrict to, or None.

        Returns:
            ``n`` dotted-quad strings, drawn with replacement.

        Raises:
            TypeError: ``rng`` is not a ``numpy.random.Generator``.
            ValueError: ``n < 0``.
            IntelError: unknown kind or provider, malformed country, no country data, or no range
                serving ``kind`` / ``country``.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if not isinstance(kind, str):
            raise IntelError(f"sample kind must be a string, got {kind!r}")
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        kind = kind.strip().lower()
        if kind not in SAMPLE_KINDS and not kind.startswith("cloud:"):
            raise IntelError(f"unknown sample kind {kind!r}; expected one of {', '.join(SAMPLE_KINDS)} or cloud:<provider>")
        if country is not None:
            country = str(country).strip().upper()
            if not re.fullmatch(r"[A-Z]{2}", country):
                raise IntelError(f"country must be an ISO 3166-1 alpha-2 code, got {country!r}")
        starts, sizes, cum = self._pool(kind, country)
        if n == 0:
            return []
        u = rng.random(n) * cum[-1]
        seg = np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)
        size = sizes[seg]
        off = rng.integers(0, size, dtype=np.uint64)
        addr = starts[seg] + off
        # Avoid .0 / .255 host octets when the segment has room for a neighbour.
        last = addr & np.uint64(255)
        end = starts[seg] + size - np.uint64(1)
        up = (last == 0) & (addr + np.uint64(1) <= end)
        down = (last == 255) & (addr >= starts[seg] + np.uint64(1))
        addr = np.where(up, addr + np.uint64(1), np.where(down, addr - np.uint64(1), addr))
        return _format_v4_list(addr)

    def countries_with_residential(self) -> list[str]:
        """Sorted ISO 3166-1 alpha-2 codes with at least one residential segment (empty without country data)."""
        codes = np.unique(self.seg_cc[self._kind_indices("residential")])
        return sorted(self.cc_names[c] for c in codes.tolist() if c >= 0 and self.cc_names[c] is not None)

    def same_prefix(self, prefix_ip: str, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` addresses in the same /24 (IPv4) or /48 (IPv6) as ``prefix_ip``.

        IPv4 host octets 1-254 are drawn without replacement while ``n <= 254`` (with replacement
        beyond); IPv4-mapped IPv6 addresses are treated as IPv4. ``prefix_ip`` may be a network
        (its network address is used). The worker behind ``IntelDB.same_prefix_ips``.

        Returns:
            ``n`` address strings (dotted quad, or compressed IPv6 per RFC 5952).

        Raises:
            TypeError: ``rng`` is not a ``numpy.random.Generator``.
            ValueError: ``n < 0``.
            IntelError: ``prefix_ip`` is not an IP address or network.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        try:
            text = str(prefix_ip).strip()
            addr = ipaddress.ip_network(text, strict=False).network_address if "/" in text else ipaddress.ip_address(text)
        except ValueError as exc:
            raise IntelError(f"not an IP address or network: {prefix_ip!r}") from exc
        mapped = getattr(addr, "ipv4_mapped", None)
        if mapped is not None:
            addr = mapped
        if addr.version == 4:
            base = np.uint64(int(addr) & 0xFFFFFF00)
            if n <= 254:
                hosts = rng.choice(254, size=n, replace=False).astype(np.uint64) + np.uint64(1)
            else:
                hosts = rng.integers(1, 255, size=n, dtype=np.uint64)
            return _format_v4_list(base + hosts)
        hi = (int(addr) >> 64) & ~0xFFFF  # the /48 keeps the top 48 bits
        host_hi = rng.integers(0, 1 << 16, size=n, dtype=np.uint64)
        host_lo = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
        return format_v6(np.uint64(hi) | host_hi, host_lo)


def _format_v4_list(addr: np.ndarray) -> list[str]:
    if addr.size > 64:
        return format_v4(addr).to_pylist()
    return [f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" for a in addr.tolist()]


def _compute() -> tuple[str, ...]:
    from .db import COMPUTE_PROVIDERS

    return COMPUTE_PROVIDERS
