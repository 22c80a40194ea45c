"""File layout, readers and provenance for the IP-intelligence directory.

Expected layout (every file optional; ``.gz`` and plain variants are both accepted,
paths relative to the directory handed to :func:`distillwatch.intel.load_intel`):

================================================  =============================================
file                                              source / licence (attribution)
================================================  =============================================
``ip-location-db/asn/asn-ipv{4,6}.csv.gz``        ``ip_start,ip_end,asn,org``; CC BY 4.0:
                                                  RouteViews, DB-IP ASN Lite, NRO
                                                  (github.com/sapics/ip-location-db)
``ip-location-db/dbip-country/                    ``ip_start,ip_end,country``; CC BY 4.0:
dbip-country-ipv{4,6}.csv.gz``                    "IP Geolocation by DB-IP" (https://db-ip.com)
``ipranges_cc0/<provider>/ipv{4,6}_merged.txt``   CIDRs per cloud / service provider; CC0
``x4bnet_lists_vpn/output_datacenter_ipv{4,6}``   "not an eyeball network" CIDRs; MIT, X4B
``x4bnet_lists_vpn/output_vpn_ipv{4,6}.txt``      known VPN networks; MIT, X4B
``x4bnet_lists_vpn/input_{datacenter,vpn}_ASN``   the ASN lists behind them; MIT, X4B
``bad_asn/bad-asn-list.csv``                      hosting ASNs (``ASN,Entity``); MIT
``tor/tor-exit-nodes.lst``                        Tor exit IPs, Feb 2024 snapshot; MIT
================================================  =============================================

``ipcat`` (GPL-3.0 data) is deliberately never read.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .addr import parse_cidr_lines, parse_v4_column, parse_v6_strings

__all__ = [
    "ASN_FILES",
    "COUNTRY_FILES",
    "DATACENTER_FILES",
    "VPN_FILES",
    "ASN_LIST_FILES",
    "BAD_ASN_FILE",
    "TOR_FILE",
    "PROVIDER_DIR",
    "ATTRIBUTION",
    "expected_files",
    "find_file",
    "file_version",
    "read_range_csv",
    "read_cidr_file",
    "read_asn_list",
    "RangeRows",
]

ASN_FILES = ("ip-location-db/asn/asn-ipv4.csv.gz", "ip-location-db/asn/asn-ipv6.csv.gz")
COUNTRY_FILES = (
    "ip-location-db/dbip-country/dbip-country-ipv4.csv.gz",
    "ip-location-db/dbip-country/dbip-country-ipv6.csv.gz",
)
DATACENTER_FILES = ("x4bnet_lists_vpn/output_datacenter_ipv4.txt.gz", "x4bnet_lists_vpn/output_datacenter_ipv6.txt")
VPN_FILES = ("x4bnet_lists_vpn/output_vpn_ipv4.txt", "x4bnet_lists_vpn/output_vpn_ipv6.txt")
ASN_LIST_FILES = ("x4bnet_lists_vpn/input_datacenter_ASN.txt", "x4bnet_lists_vpn/input_vpn_ASN.txt")
BAD_ASN_FILE = "bad_asn/bad-asn-list.csv"
TOR_FILE = "tor/tor-exit-nodes.lst"
PROVIDER_DIR = "ipranges_cc0"
PROVIDER_FILES = ("ipv4_merged.txt", "ipv6_merged.txt")

ATTRIBUTION: dict[str, str] = {
    "ip-location-db/asn": "IP to ASN: CC BY 4.0, RouteViews (routeviews.org), DB-IP ASN Lite (https://db-ip.com), NRO (nro.net), via sapics/ip-location-db",
    "ip-location-db/dbip-country": "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0, via sapics/ip-location-db",
    "ipranges_cc0": "Cloud provider IP ranges (ipranges, CC0 1.0), compiled from the providers' published feeds",
    "x4bnet_lists_vpn": "VPN and datacenter lists (X4BNet lists_vpn, MIT, (c) 2024 X4B / Mathew Heard)",
    "bad_asn": "bad-asn-list (hosting ASNs, MIT)",
    "tor": "Tor exit node list, February 2024 snapshot (MIT, (c) 2023 SecOps - Institute of Information Security)",
}
"""Attribution line per source family (key = path prefix). DB-IP data requires a
visible "IP Geolocation by DB-IP" link wherever its results are displayed."""


def expected_files() -> list[str]:
    """Relative paths :func:`load_intel` looks for (providers as a glob)."""
    return [
        *ASN_FILES,
        *COUNTRY_FILES,
        f"{PROVIDER_DIR}/<provider>/ipv4_merged.txt",
        f"{PROVIDER_DIR}/<provider>/ipv6_merged.txt",
        *DATACENTER_FILES,
        *VPN_FILES,
        *ASN_LIST_FILES,
        BAD_ASN_FILE,
        TOR_FILE,
    ]


def find_file(root: Path, rel: str) -> Path | None:
    """``root/rel`` if it is a file, else the same path with ``.gz`` added / removed."""
    cand = root / rel
    alt = root / (rel[:-3] if rel.endswith(".gz") else rel + ".gz")
    for p in (cand, alt):
        if p.is_file():
            return p
    return None


def _open_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def file_version(root: Path, path: Path, rows: int, skipped: int = 0) -> dict:
    """Provenance record: relative path, sha256 of the file bytes, rows, mtime (ISO UTC)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    st = path.stat()
    rec = {
        "path": path.relative_to(root).as_posix(),
        "sha256": h.hexdigest(),
        "rows": int(rows),
        "bytes": int(st.st_size),
        "mtime": datetime.fromtimestamp(st.st_mtime, tz=timezone.utc).isoformat().replace("+00:00", "Z"),
    }
    if skipped:
        rec["skipped"] = int(skipped)
    return rec


@dataclass
class RangeRows:
    """Inclusive address ranges of one family plus per-row payload columns.

    ``starts`` / ``ends`` are word tuples (``(uint64,)`` for IPv4, ``(hi, lo)`` for
    IPv6); ``columns`` maps payload names to ``pyarrow`` arrays aligned with them.
    """

    starts: tuple
    ends: tuple
    columns: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.starts[0].size)


def _parse_bounds(col: pa.Array, family: int):
    if family == 4:
        ok, v = parse_v4_column(col, strict=False)
        return ok, (v,)
    ok, hi, lo = parse_v6_strings(col.to_pylist())
    return ok, (hi, lo)


def read_range_csv(path: Path, payload: tuple[str, ...]) -> tuple[dict[int, RangeRows], int]:
    """Read an ``ip_start,ip_end,<payload...>`` CSV (gzip or plain, header optional).

    Rows are split by family (a ``:`` in ``ip_start`` means IPv6); rows whose bounds do
    not parse, or whose families differ, are dropped and counted.

    Returns:
        ``({4: RangeRows, 6: RangeRows}, n_skipped)``.
    """
    names = ["ip_start", "ip_end", *payload]
    types = {n: pa.string() for n in names}
    table = pacsv.read_csv(
        io.BytesIO(_open_bytes(path)),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=names,
            strings_can_be_null=True,
            null_values=[""],  # never the default list: "NA" is Namibia
        ),
    )
    if table.num_rows:
        first = table.column("ip_start")[0].as_py() or ""
        if ":" not in first and not re.match(r"^[0-9.]+$", first):  # header line
            table = table.slice(1)
    start = table.column("ip_start").combine_chunks()
    end = table.column("ip_end").combine_chunks()
    is6 = pc.fill_null(pc.match_substring(start, ":"), False).to_numpy(zero_copy_only=False)
    out: dict[int, RangeRows] = {}
    skipped = 0
    for family, mask in ((4, ~is6), (6, is6)):
        sel = pa.array(mask)
        s_col, e_col = start.filter(sel), end.filter(sel)
        ok_s, s = _parse_bounds(s_col, family)
        ok_e, e = _parse_bounds(e_col, family)
        ok = ok_s & ok_e
        cols = {}
        for name in payload:
            c = table.column(name).combine_chunks().filter(sel)
            cols[name] = c
        if not ok.all():
            skipped += int((~ok).sum())
            s = tuple(w[ok] for w in s)
            e = tuple(w[ok] for w in e)
            cols = {k: v.filter(pa.array(ok)) for k, v in cols.items()}
        if "asn" in cols:  # tolerate "AS13335" spellings and stray blanks
            a = pc.utf8_trim_whitespace(cols["asn"])
            a = pc.replace_substring_regex(a, r"^[Aa][Ss]", "")
            a_ok = pc.fill_null(pc.match_substring_regex(a, r"^[0-9]+$"), False)
            cols["asn"] = pc.if_else(a_ok, a, pa.scalar(None, pa.string())).cast(pa.int64())
        out[family] = RangeRows(s, e, cols)
    return out, skipped


def read_text_lines(path: Path) -> list[str]:
    """Lines of a (possibly gzip-compressed) UTF-8 text file."""
    return _open_bytes(path).decode("utf-8", errors="replace").splitlines()


def read_cidr_file(path: Path) -> tuple[dict[int, tuple], int, int]:
    """Read a CIDR-per-line list (``#`` comments allowed, gzip or plain).

    Returns ``(ranges_by_family, n_rows, n_skipped)``; see :func:`parse_cidr_lines`.
    """
    ranges, bad = parse_cidr_lines(read_text_lines(path))
    rows = ranges[4][0].size + ranges[6][0][0].size
    return ranges, rows, bad


_ASN_RE = re.compile(r'^\s*"?\s*(?:AS)?(\d+)', re.IGNORECASE)


def read_asn_list(path: Path) -> np.ndarray:
    """ASNs from ``bad-asn-list.csv`` (``ASN,Entity``) or an ``AS123 # comment`` list.

    Returns a sorted unique ``int64`` array; header and unparsable lines are skipped.
    """
    asns = []
    for line in read_text_lines(path):
        m = _ASN_RE.match(line)
        if m:
            asns.append(int(m.group(1)))
    return np.unique(np.asarray(asns, dtype=np.int64))
