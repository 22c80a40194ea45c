"""The in-memory IP-intelligence database: loading, caching and vectorised lookup."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import sources as src
from .addr import format_v4, format_v6_prefix48, parse_ips, to_string_array
from .errors import IntelError
from .segments import SegmentIndex, build_segments

__all__ = [
    "ENV_VAR",
    "LOOKUP_SCHEMA",
    "PROXY_KINDS",
    "COMPUTE_PROVIDERS",
    "IntelData",
    "IntelDB",
    "load_intel",
    "fallback_intel",
    "resolve_intel_dir",
    "clear_intel_cache",
]

ENV_VAR = "DISTILLWATCH_INTEL_DIR"
"""Environment variable naming the IP-intelligence directory (overrides the search)."""

LOOKUP_SCHEMA = pa.schema(
    [
        pa.field("ip", pa.string()),
        pa.field("is_valid", pa.bool_(), nullable=False),
        pa.field("ip_version", pa.int8()),
        pa.field("asn", pa.int64()),
        pa.field("as_org", pa.string()),
        pa.field("country", pa.string()),
        pa.field("cloud_provider", pa.string()),
        pa.field("is_datacenter", pa.bool_(), nullable=False),
        pa.field("is_vpn", pa.bool_(), nullable=False),
        pa.field("is_tor", pa.bool_(), nullable=False),
        pa.field("is_hosting_asn", pa.bool_(), nullable=False),
        pa.field("proxy_kind", pa.string()),
        pa.field("prefix", pa.string()),
    ]
)
"""Schema of :meth:`IntelDB.lookup` (column order is part of the contract)."""

PROXY_KINDS = ("tor", "vpn", "cloud", "datacenter")
"""``proxy_kind`` values in precedence order (first match wins; null = none)."""

COMPUTE_PROVIDERS = ("amazon", "google", "microsoft", "oracle", "digitalocean", "linode")
"""Providers where anyone can rent a VM; ``sample_ips("cloud", ...)`` draws from these.
Service-specific lists (crawlers, relays, CDNs) win ties over them in lookups."""

_FAMILIES = (4, 6)
_NWORDS = {4: 1, 6: 2}


def _parallel(fn, items: list) -> list:
    """``[fn(x) for x in items]`` on a small thread pool (pyarrow, zlib and numpy sort
    release the GIL, so the big tables parse and index concurrently)."""
    workers = min(4, os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def _empty_words(family: int) -> tuple:
    return tuple(np.zeros(0, dtype=np.uint64) for _ in range(_NWORDS[family]))


def _concat_words(parts: list[tuple], family: int) -> tuple:
    if not parts:
        return _empty_words(family)
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(_NWORDS[family]))


@dataclass
class IntelData:
    """Parsed, not yet indexed sources (the input of :class:`IntelDB`).

    Bounds are inclusive word tuples (``(uint64,)`` for IPv4, ``(hi, lo)`` for IPv6),
    keyed by address family (4 or 6). The directory loader and the bundled fallback
    table both fill this structure.

    Attributes:
        asn: family -> :class:`~distillwatch.intel.sources.RangeRows` with ``asn``
            (int64) and ``org`` (string) columns.
        country: family -> ``RangeRows`` with a ``country`` (ISO 3166-1 alpha-2) column.
        cloud: provider -> family -> ``(starts, ends)``.
        datacenter, vpn, tor: family -> ``(starts, ends)``.
        hosting_asns: sorted int64 ASNs of hosting networks (bad-asn-list).
        listed_asns: sorted int64 ASNs on the X4B datacenter / VPN input lists.
    """

    asn: dict = field(default_factory=dict)
    country: dict = field(default_factory=dict)
    cloud: dict = field(default_factory=dict)
    datacenter: dict = field(default_factory=dict)
    vpn: dict = field(default_factory=dict)
    tor: dict = field(default_factory=dict)
    hosting_asns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    listed_asns: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class _FamilyIndex:
    """Segment indexes for one address family. Row ids are global (v4 rows first)."""

    def __init__(self, family: int):
        self.family = family
        e = SegmentIndex.empty(_NWORDS[family])
        self.asn = self.country = self.cloud = self.dc = self.vpn = self.tor = e


def _bool_index(ranges: dict, family: int) -> SegmentIndex:
    if family not in ranges:
        return SegmentIndex.empty(_NWORDS[family])
    starts, ends = ranges[family]
    return build_segments(starts, ends, boolean=True)


class IntelDB:
    """Vectorised IP enrichment (ASN, country, cloud / VPN / Tor / datacenter flags).

    Build one with :func:`load_intel`; instances are immutable and cached per
    directory, so share them freely. All lookups are vectorised (numpy
    ``searchsorted`` over flattened range tables, see
    :mod:`distillwatch.intel.segments`).

    Attributes:
        source: the absolute directory the data came from, or ``"none"`` for the
            bundled fallback table (:mod:`distillwatch.intel.fallback`).
        versions: ``{relative_path: {"path", "sha256", "rows", "bytes", "mtime"[, "skipped"]}}``
            for every file loaded (``mtime`` is ISO 8601 UTC, ``rows`` counts parsed
            data rows); empty for the fallback.
        providers: cloud / service provider names loaded (``ipranges_cc0`` folders).
    """

    def __init__(self, data: IntelData, source: str, versions: dict[str, dict] | None = None):
        self.source = str(source)
        self.versions: dict[str, dict] = dict(versions or {})
        self.providers: tuple[str, ...] = tuple(data.cloud)
        self.hosting_asns = np.unique(np.asarray(data.hosting_asns, dtype=np.int64))
        self.listed_asns = np.unique(np.asarray(data.listed_asns, dtype=np.int64))
        self._fam = {f: _FamilyIndex(f) for f in _FAMILIES}
        self._build(data)
        self._sampler = None
        self._sampler_lock = threading.Lock()

    # ------------------------------------------------------------------ building
    def _build(self, data: IntelData) -> None:
        # Cloud providers: one index per family over all providers; narrowest wins,
        # service-specific lists win ties against general compute clouds.
        self._provider_names = pa.array(list(self.providers), type=pa.string())
        cloud_in: dict[int, tuple] = {}
        for fam in _FAMILIES:
            parts_s, parts_e, code, pref = [], [], [], []
            for k, name in enumerate(self.providers):
                fr = data.cloud[name].get(fam)
                if fr is None or fr[0][0].size == 0:
                    continue
                parts_s.append(fr[0])
                parts_e.append(fr[1])
                code.append(np.full(fr[0][0].size, k, dtype=np.int64))
                pref.append(np.full(fr[0][0].size, 0 if name in COMPUTE_PROVIDERS else 1, dtype=np.int64))
            if parts_s:
                cloud_in[fam] = (_concat_words(parts_s, fam), _concat_words(parts_e, fam), np.concatenate(pref), np.concatenate(code))

        def task(job: tuple) -> tuple:
            kind, fam = job
            if kind in ("asn", "country"):
                rr = getattr(data, kind).get(fam)
                if rr is None or not len(rr):
                    return job, None
                return job, build_segments(rr.starts, rr.ends)
            if kind == "cloud":
                if fam not in cloud_in:
                    return job, None
                starts, ends, pref, codes = cloud_in[fam]
                idx = build_segments(starts, ends, pref)
                return job, SegmentIndex(idx.bounds, np.where(idx.values >= 0, codes[np.maximum(idx.values, 0)], -1))
            return job, _bool_index(getattr(data, kind), fam)

        jobs = [(k, f) for k in ("asn", "country", "cloud", "datacenter", "vpn", "tor") for f in _FAMILIES]
        built = dict(_parallel(task, jobs))
        attr = {"asn": "asn", "country": "country", "cloud": "cloud", "datacenter": "dc", "vpn": "vpn", "tor": "tor"}
        # ASN / country: rows of both families concatenated, so v6 row ids are offset.
        asn_vals, orgs, countries = [], [], []
        offset = {"asn": 0, "country": 0}
        for kind, fam in jobs:
            idx = built[(kind, fam)]
            if idx is None:
                continue
            if kind in offset:
                idx = SegmentIndex(idx.bounds, np.where(idx.values >= 0, idx.values + offset[kind], -1))
                rr = getattr(data, kind)[fam]
                offset[kind] += len(rr)
                if kind == "asn":
                    asn_vals.append(rr.columns["asn"].cast(pa.int64()))
                    orgs.append(rr.columns["org"].cast(pa.string()))
                else:
                    cc = pc.utf8_upper(pc.utf8_trim_whitespace(rr.columns["country"].cast(pa.string())))
                    ok = pc.fill_null(pc.match_substring_regex(cc, r"^[A-Z]{2}$"), False)
                    countries.append(pc.if_else(ok, cc, pa.scalar(None, pa.string())))
            setattr(self._fam[fam], attr[kind], idx)
        self._asn = pc.fill_null(pa.concat_arrays(asn_vals), -1).to_numpy() if asn_vals else np.zeros(0, np.int64)
        self._org = pa.concat_arrays(orgs) if orgs else pa.array([], pa.string())
        self._cc = pa.concat_arrays(countries) if countries else pa.array([], pa.string())

    # ------------------------------------------------------------------ lookups
    def _query_rows(self, fam: int, words: tuple) -> dict[str, np.ndarray]:
        fi = self._fam[fam]
        return {
            "asn": fi.asn.lookup(words),
            "country": fi.country.lookup(words),
            "cloud": fi.cloud.lookup(words),
            "dc": fi.dc.covered(words),
            "vpn": fi.vpn.covered(words),
            "tor": fi.tor.covered(words),
        }

    def lookup(self, ips: Any) -> pa.Table:
        """Enrich IP address strings.

        Args:
            ips: a sequence of ``str`` / ``None``, numpy or pandas object array, or a
                ``pyarrow`` (chunked / dictionary) string array; typically the
                *distinct* client IPs of a log (1M rows take about a second). A bare
                ``str`` is treated as a one-element list.

        Returns:
            ``pyarrow.Table`` with :data:`LOOKUP_SCHEMA`, one row per input, same order:

            * ``ip``: the input string unchanged (null for null / non-string input);
            * ``is_valid``: parses as an IPv4 / IPv6 address per :mod:`ipaddress`
              (no surrounding whitespace, ports or brackets; ``None`` / ``""`` -> False);
            * ``ip_version``: 4 or 6, IPv4-mapped IPv6 (``::ffff:a.b.c.d``) counts as 4;
              null if invalid;
            * ``asn`` / ``as_org``: origin AS and its organisation (ip-location-db asn);
            * ``country``: ISO 3166-1 alpha-2 (DB-IP country lite);
            * ``cloud_provider``: ``ipranges_cc0`` folder name of the narrowest listed
              range (e.g. ``openai`` inside ``microsoft``), null if none;
            * ``is_datacenter``: X4B datacenter list OR a cloud provider OR hosting ASN;
            * ``is_vpn``: X4B VPN list; ``is_tor``: Tor exit list;
            * ``is_hosting_asn``: ``asn`` is on bad-asn-list;
            * ``proxy_kind``: ``'tor'`` > ``'vpn'`` > ``'cloud'`` > ``'datacenter'`` > null;
            * ``prefix``: the covering /24 (IPv4) or /48 (IPv6) in CIDR notation,
              e.g. ``'203.0.113.0/24'``, ``'2001:db8:1::/48'``.

            Flags are ``False`` (never null) for invalid or unknown addresses.
        """
        col = to_string_array(ips)
        n = len(col)
        parsed = parse_ips(col)
        asn_row = np.full(n, -1, dtype=np.int64)
        cc_row = np.full(n, -1, dtype=np.int64)
        cloud = np.full(n, -1, dtype=np.int64)
        dc = np.zeros(n, dtype=bool)
        vpn = np.zeros(n, dtype=bool)
        tor = np.zeros(n, dtype=bool)
        prefix = pa.nulls(n, type=pa.string())
        for fam in _FAMILIES:
            mask = parsed.version == fam
            if not mask.any():
                continue
            idx = np.nonzero(mask)[0]
            if fam == 4:
                words = (parsed.v4[idx],)
                order = np.argsort(words[0], kind="stable")
            else:
                words = (parsed.v6hi[idx], parsed.v6lo[idx])
                order = np.lexsort((words[1], words[0]))
            # Sorted queries make the binary searches cache-friendly (2-3x faster).
            idx = idx[order]
            words = tuple(w[order] for w in words)
            r = self._query_rows(fam, words)
            asn_row[idx] = r["asn"]
            cc_row[idx] = r["country"]
            cloud[idx] = r["cloud"]
            dc[idx], vpn[idx], tor[idx] = r["dc"], r["vpn"], r["tor"]
            if fam == 4:
                net = format_v4(words[0] & np.uint64(0xFFFFFF00))
                strs = pc.binary_join_element_wise(net, pa.scalar("/24"), pa.scalar(""))
            else:
                uniq, inv = np.unique(words[0] >> np.uint64(16), return_inverse=True)
                strs = pa.array(format_v6_prefix48(uniq), type=pa.string()).take(pa.array(inv.ravel()))
            # replace_with_mask fills the masked slots in row order: undo the sort.
            strs = strs.take(pa.array(np.argsort(order, kind="stable")))
            prefix = pc.replace_with_mask(prefix, pa.array(mask), strs)

        has_asn = asn_row >= 0
        asn = np.where(has_asn, self._asn[np.maximum(asn_row, 0)] if self._asn.size else -1, -1)
        has_asn &= asn >= 0
        hosting = has_asn & np.isin(asn, self.hosting_asns)
        has_cloud = cloud >= 0
        is_dc = dc | has_cloud | hosting
        kind_idx = np.select([tor, vpn, has_cloud, is_dc], [0, 1, 2, 3], default=-1)

        def take(values: pa.Array, rows: np.ndarray) -> pa.Array:
            if len(values) == 0:
                return pa.nulls(n, type=pa.string())
            return values.take(pa.array(rows, mask=rows < 0, type=pa.int64()))

        kinds = pa.array(list(PROXY_KINDS), type=pa.string())
        cols = [
            col,
            pa.array(parsed.valid, type=pa.bool_()),
            pa.array(parsed.version, mask=~parsed.valid, type=pa.int8()),
            pa.array(asn, mask=~has_asn, type=pa.int64()),
            take(self._org, np.where(has_asn, asn_row, -1)),
            take(self._cc, cc_row),
            take(self._provider_names, cloud),
            pa.array(is_dc, type=pa.bool_()),
            pa.array(vpn, type=pa.bool_()),
            pa.array(tor, type=pa.bool_()),
            pa.array(hosting, type=pa.bool_()),
            take(kinds, kind_idx),
            prefix,
        ]
        return pa.Table.from_arrays(cols, schema=LOOKUP_SCHEMA)

    def lookup_one(self, ip: str | None) -> dict[str, Any]:
        """:meth:`lookup` for a single address, as a ``dict`` keyed by column name."""
        return self.lookup([ip]).to_pylist()[0]

    # ------------------------------------------------------------------ metadata
    @property
    def is_empty(self) -> bool:
        """True for the fallback database (``source == "none"``)."""
        return self.source == "none"

    @property
    def attributions(self) -> list[str]:
        """Attribution lines required by the licences of the loaded files (display
        them in reports; DB-IP asks for a link to https://db-ip.com)."""
        out = []
        for prefix, line in src.ATTRIBUTION.items():
            if any(k.startswith(prefix) for k in self.versions):
                out.append(line)
        return out

    def available_kinds(self) -> list[str]:
        """Kinds :meth:`sample_ips` can serve with this data (``cloud:<p>`` included)."""
        return self._get_sampler().available_kinds()

    def __repr__(self) -> str:
        return f"IntelDB(source={self.source!r}, files={len(self.versions)}, providers={len(self.providers)})"

    # ------------------------------------------------------------------ sampling
    def _get_sampler(self):
        if self._sampler is None:
            with self._sampler_lock:
                if self._sampler is None:
                    from .sampling import Sampler

                    self._sampler = Sampler(self)
        return self._sampler

    def sample_ips(self, kind: str, n: int, rng: np.random.Generator, country: str | None = None) -> list[str]:
        """Draw ``n`` IPv4 addresses of a given network kind (for the traffic simulator).

        Args:
            kind: one of

                * ``"residential"``: ASN ranges whose ASN is on no hosting / datacenter /
                  VPN list, whose organisation does not look like a hosting company or an
                  institution (government, defence, university, bank), and which no
                  datacenter / VPN / cloud / Tor list covers;
                * ``"mobile"``: residential ranges of organisations named like mobile
                  carriers (mobile, wireless, cellular...), else like telecoms, else any
                  residential range;
                * ``"datacenter"``: X4B datacenter ranges outside every cloud, VPN and Tor
                  list;
                * ``"cloud"``: ranges of the compute clouds in :data:`COMPUTE_PROVIDERS`;
                  ``"cloud:<provider>"``: one ``ipranges_cc0`` folder, e.g. ``cloud:amazon``;
                * ``"vpn"``: X4B VPN ranges (not Tor exits); ``"tor"``: Tor exit addresses.
            n: number of addresses (``>= 0``).
            rng: ``numpy.random.Generator``; the result is a deterministic function of its
                state (and of the loaded data).
            country: optional ISO 3166-1 alpha-2 code; keeps only addresses DB-IP places in
                that country (for every kind).

        Returns:
            ``n`` dotted-quad strings, drawn with replacement: ranges are picked with
            weight ``min(size, 65536)`` (so no single huge block dominates), then an
            address uniformly inside (avoiding ``.0`` / ``.255`` where possible). Every
            address looks up with the matching ``proxy_kind`` (``None`` for
            residential / mobile). Only IPv4 is sampled.

        Raises:
            IntelError: unknown kind, or no loaded range can serve ``kind`` / ``country``.
            ValueError: ``n < 0``. TypeError: ``rng`` is not a ``numpy.random.Generator``.
        """
        return self._get_sampler().sample(kind, n, rng, country)

    def countries_with_residential(self) -> list[str]:
        """Sorted ISO alpha-2 codes for which ``sample_ips("residential", ..., country=c)``
        succeeds (empty when no country data is loaded)."""
        return self._get_sampler().countries_with_residential()

    def same_prefix_ips(self, prefix_ip: str, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` addresses in the same /24 (IPv4) or /48 (IPv6) as ``prefix_ip``.

        Models a campus NAT pool or a sticky proxy pool: every result has the same
        ``prefix`` in :meth:`lookup`. For IPv4, host octets 1-254 are drawn without
        replacement while ``n <= 254`` (with replacement beyond). ``prefix_ip`` may be
        an address or a network such as ``'198.51.100.0/24'`` (its network address is
        used). Deterministic for a given ``rng`` state.

        Raises:
            IntelError: ``prefix_ip`` is not an IP address / network.
        """
        return self._get_sampler().same_prefix(prefix_ip, n, rng)


# ---------------------------------------------------------------------- loading
def _add_ranges(target: dict, ranges: dict) -> None:
    """Append ``parse_cidr_lines`` output to ``target[family] = (starts, ends)``."""
    for fam in _FAMILIES:
        s, e = ranges[fam]
        words_s, words_e = (s, e) if fam == 6 else ((s,), (e,))
        if words_s[0].size == 0:
            continue
        if fam in target:
            ps, pe = target[fam]
            words_s = _concat_words([ps, words_s], fam)
            words_e = _concat_words([pe, words_e], fam)
        target[fam] = (words_s, words_e)


def _merge_rows(target: dict, got: dict) -> None:
    for fam, rr in got.items():
        if not len(rr):
            continue
        if fam in target:
            old = target[fam]
            rr = src.RangeRows(
                _concat_words([old.starts, rr.starts], fam),
                _concat_words([old.ends, rr.ends], fam),
                {k: pa.concat_arrays([old.columns[k], rr.columns[k]]) for k in rr.columns},
            )
        target[fam] = rr


def _load_directory(root: Path) -> IntelDB:
    # (slot, path, reader) for every file present; read concurrently, merged in order.
    jobs: list[tuple[str, Path, Any]] = []
    for rel in src.ASN_FILES:
        jobs.append(("asn", src.find_file(root, rel), lambda p: src.read_range_csv(p, ("asn", "org"))))
    for rel in src.COUNTRY_FILES:
        jobs.append(("country", src.find_file(root, rel), lambda p: src.read_range_csv(p, ("country",))))
    prov_root = root / src.PROVIDER_DIR
    if prov_root.is_dir():
        for d in sorted(x for x in prov_root.iterdir() if x.is_dir()):
            for fname in src.PROVIDER_FILES:
                jobs.append((f"cloud:{d.name}", src.find_file(d, fname), src.read_cidr_file))
    for slot, rels in (("datacenter", src.DATACENTER_FILES), ("vpn", src.VPN_FILES), ("tor", (src.TOR_FILE,))):
        for rel in rels:
            jobs.append((slot, src.find_file(root, rel), src.read_cidr_file))
    jobs.append(("hosting", src.find_file(root, src.BAD_ASN_FILE), src.read_asn_list))
    for rel in src.ASN_LIST_FILES:
        jobs.append(("listed", src.find_file(root, rel), src.read_asn_list))
    jobs = [j for j in jobs if j[1] is not None]
    if not jobs:
        raise IntelError(
            f"no IP-intelligence files found in {root}; looked for: " + ", ".join(src.expected_files())
        )

    def run(job: tuple) -> tuple:
        slot, path, reader = job
        return reader(path), src.file_version(root, path, 0)

    results = _parallel(run, jobs)
    data = IntelData()
    versions: dict[str, dict] = {}
    listed = []
    for (slot, path, _), (res, ver) in zip(jobs, results):
        if slot in ("asn", "country"):
            got, skipped = res
            _merge_rows(getattr(data, slot), got)
            rows = sum(len(r) for r in got.values())
        elif slot in ("hosting", "listed"):
            skipped = 0
            rows = res.size
            if slot == "hosting":
                data.hosting_asns = res
            else:
                listed.append(res)
        else:
            ranges, rows, skipped = res
            if slot.startswith("cloud:"):
                target = data.cloud.setdefault(slot.split(":", 1)[1], {})
            else:
                target = getattr(data, slot)
            _add_ranges(target, ranges)
        ver["rows"] = int(rows)
        if skipped:
            ver["skipped"] = int(skipped)
        versions[ver["path"]] = ver
    if listed:
        data.listed_asns = np.unique(np.concatenate(listed))
    data.cloud = {k: v for k, v in data.cloud.items() if v}
    return IntelDB(data, source=str(root), versions=dict(sorted(versions.items())))


@lru_cache(maxsize=8)
def _load_cached(root: str) -> IntelDB:
    return _load_directory(Path(root))


@lru_cache(maxsize=1)
def _fallback_db() -> IntelDB:
    from .fallback import fallback_data

    return IntelDB(fallback_data(), source="none", versions={})


def fallback_intel() -> IntelDB:
    """The built-in database (``source == "none"``) whatever exists on disk.

    It enriches and samples only :data:`distillwatch.intel.fallback.FALLBACK_RANGES`
    (under 60 published ranges); handy for demos and unit tests.
    """
    return _fallback_db()


def _repo_root() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() or (parent / ".git").exists():
            return parent
    return None


def resolve_intel_dir(directory: str | os.PathLike | None = None) -> Path | None:
    """The directory :func:`load_intel` would read, or ``None`` for the fallback.

    Order: ``directory`` if given; else ``$DISTILLWATCH_INTEL_DIR`` if set and
    non-empty; else the first existing of ``./../shared/data/ip`` (relative to the
    current directory) and ``<repo root>/../shared/data/ip`` (repo root found by
    walking up from this file to a ``pyproject.toml`` / ``.git``).

    Raises:
        IntelError: an explicitly given directory (argument or environment variable)
            does not exist or is not a directory.
    """
    explicit = directory if directory is not None else (os.environ.get(ENV_VAR) or None)
    if explicit is not None:
        p = Path(explicit).expanduser()
        if not p.is_dir():
            how = "argument" if directory is not None else f"${ENV_VAR}"
            raise IntelError(f"IP-intelligence directory {p} (from {how}) does not exist or is not a directory")
        return p.resolve()
    candidates = [Path.cwd() / ".." / "shared" / "data" / "ip"]
    root = _repo_root()
    if root is not None:
        candidates.append(root / ".." / "shared" / "data" / "ip")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def load_intel(directory: str | os.PathLike | None = None) -> IntelDB:
    """Load (or fetch from the per-directory cache) the IP-intelligence database.

    Args:
        directory: folder laid out like ``shared/data/ip`` (see
            :mod:`distillwatch.intel.sources` and ``docs/intel.md``). ``None`` searches
            as described in :func:`resolve_intel_dir` and, if nothing is found,
            returns the bundled fallback database (``source == "none"``), which
            enriches only the few published ranges in :mod:`distillwatch.intel.fallback`.

    Returns:
        An :class:`IntelDB`. Missing sub-sources are skipped; ``versions`` lists what
        was loaded. The full shared dataset (about 1.3M ranges) loads in about two
        seconds; later calls for the same directory return the cached instance.

    Raises:
        IntelError: the directory does not exist, or holds none of the expected files
            (the message names the directory and the files looked for).
    """
    root = resolve_intel_dir(directory)
    if root is None:
        return _fallback_db()
    return _load_cached(str(root))


def clear_intel_cache() -> None:
    """Forget every cached :class:`IntelDB` (e.g. after the files on disk changed)."""
    _load_cached.cache_clear()
    _fallback_db.cache_clear()
