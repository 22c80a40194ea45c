"""Vectorised IP address and CIDR parsing.

IPv4 strings are validated with one RE2 regular expression (through ``pyarrow.compute``)
that accepts exactly what :func:`ipaddress.IPv4Address` accepts (dotted quad, each
octet 0-255, no leading zeros), then split and cast in bulk. Anything else that
contains a ``:`` is handed to :func:`ipaddress.ip_address` one string at a time
(IPv6 is a minority of client IPs); IPv4-mapped IPv6 (``::ffff:1.2.3.4``) is folded
into IPv4. Data files use :func:`socket.inet_pton` (C speed) for IPv6 columns.

Word tuples follow :mod:`distillwatch.intel.segments`: IPv4 is ``(uint64,)``, IPv6 is
``(hi, lo)`` ``uint64`` pairs.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "IPV4_REGEX",
    "ParsedIPs",
    "parse_ips",
    "parse_v4_column",
    "parse_v6_strings",
    "parse_cidr_lines",
    "format_v4",
    "format_v6",
    "format_v6_prefix48",
    "to_string_array",
]

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4_REGEX = rf"^(?:{_OCTET}\.){{3}}{_OCTET}$"
"""RE2 pattern for a strict dotted-quad IPv4 address (what :mod:`ipaddress` accepts)."""



def to_string_array(values) -> pa.Array:
    """Coerce a sequence / numpy array / pandas Series / pyarrow array of IP strings.

    Returns a ``pa.string()`` array (chunks combined, dictionaries decoded). Non-string
    Python items (ints, floats, NaN) become null.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=pa.string())
    if isinstance(values, pa.Array):
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        if not pa.types.is_string(values.type):
            if pa.types.is_null(values.type):
                return pa.nulls(len(values), type=pa.string())
            values = values.cast(pa.string())
        return values
    if isinstance(values, (str, bytes)):
        values = [values]
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())


def parse_v4_column(col: pa.Array, *, strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Parse a string array of IPv4 addresses.

    Args:
        col: ``pa.string()`` array.
        strict: validate with :data:`IPV4_REGEX` (what :mod:`ipaddress` accepts). With
            ``strict=False`` (data files) a bulk split-and-cast is tried first, which
            also tolerates leading zeros; it falls back to the strict path on any error.

    Returns:
        ``(valid, value)``: a bool mask and the ``uint64`` address (0 where invalid),
        both of length ``len(col)``. Nulls are invalid.
    """
    n = len(col)
    if not strict and n and col.null_count == 0:
        try:
            parts = pc.split_pattern(col, ".")
            if pc.all(pc.equal(pc.list_value_length(parts), 4)).as_py():
                o = pc.cast(pc.list_flatten(parts), pa.uint8()).to_numpy(zero_copy_only=False)
                o = o.astype(np.uint64).reshape(-1, 4)
                value = (o[:, 0] << 24) | (o[:, 1] << 16) | (o[:, 2] << 8) | o[:, 3]
                return np.ones(n, dtype=bool), value
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    valid = pc.fill_null(pc.match_substring_regex(col, IPV4_REGEX), False).to_numpy(zero_copy_only=False)
    value = np.zeros(n, dtype=np.uint64)
    if valid.any():
        good = col.filter(pa.array(valid)) if not valid.all() else col
        octets = pc.cast(pc.list_flatten(pc.split_pattern(good, ".")), pa.uint8())
        o = octets.to_numpy(zero_copy_only=False).astype(np.uint64).reshape(-1, 4)
        value[valid] = (o[:, 0] << 24) | (o[:, 1] << 16) | (o[:, 2] << 8) | o[:, 3]
    return valid, value


def parse_v6_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse IPv6 strings with :func:`socket.inet_pton` (for data files).

    Returns:
        ``(valid, hi, lo)``: bool mask and the two ``uint64`` halves (0 where invalid).
    """
    n = len(strings)
    pton = socket.inet_pton
    fam = socket.AF_INET6
    try:
        buf = b"".join([pton(fam, s) for s in strings])
        valid = np.ones(n, dtype=bool)
    except (OSError, TypeError, ValueError):
        parts = []
        valid = np.ones(n, dtype=bool)
        for i, s in enumerate(strings):
            try:
                parts.append(pton(fam, s))
            except (OSError, TypeError, ValueError):
                parts.append(bytes(16))
                valid[i] = False
        buf = b"".join(parts)
    words = np.frombuffer(buf, dtype=">u8").astype(np.uint64).reshape(-1, 2) if n else np.zeros((0, 2), np.uint64)
    return valid, np.ascontiguousarray(words[:, 0]), np.ascontiguousarray(words[:, 1])


@dataclass
class ParsedIPs:
    """Result of :func:`parse_ips` (all arrays have the input's length).

    Attributes:
        valid: bool, the string is an IPv4 or IPv6 address per :mod:`ipaddress`.
        version: int8, 4 or 6 (IPv4-mapped IPv6 counts as 4), 0 when invalid.
        v4: uint64 IPv4 address where ``version == 4`` (else 0).
        v6hi, v6lo: uint64 halves of the IPv6 address where ``version == 6`` (else 0).
    """

    valid: np.ndarray
    version: np.ndarray
    v4: np.ndarray
    v6hi: np.ndarray
    v6lo: np.ndarray


def parse_ips(col: pa.Array) -> ParsedIPs:
    """Classify and parse a ``pa.string()`` array of client IPs (see module docstring).

    IPv6 candidates (strings with a ``:``) go through :func:`socket.inet_pton` first;
    forms it does not cover the same way (embedded dotted quads, ``%scope`` suffixes,
    anything it rejects) are decided by :func:`ipaddress.ip_address`.
    """
    n = len(col)
    valid, v4 = parse_v4_column(col)
    version = np.where(valid, 4, 0).astype(np.int8)
    v6hi = np.zeros(n, dtype=np.uint64)
    v6lo = np.zeros(n, dtype=np.uint64)
    maybe6 = pc.fill_null(pc.match_substring(col, ":"), False).to_numpy(zero_copy_only=False) & ~valid
    idx = np.nonzero(maybe6)[0]
    if idx.size:
        strings = col.take(pa.array(idx)).to_pylist()
        pton, fam = socket.inet_pton, socket.AF_INET6
        ip_address = ipaddress.ip_address
        raw = bytearray(16 * idx.size)
        ok = np.zeros(idx.size, dtype=bool)
        for j, s in enumerate(strings):
            if "." not in s and "%" not in s:
                try:
                    raw[16 * j : 16 * j + 16] = pton(fam, s)
                    ok[j] = True
                    continue
                except (OSError, ValueError):
                    pass
            try:
                addr = ip_address(s)
            except ValueError:
                continue
            if addr.version == 6:
                raw[16 * j : 16 * j + 16] = addr.packed
                ok[j] = True
        words = np.frombuffer(bytes(raw), dtype=">u8").astype(np.uint64).reshape(-1, 2)
        hi, lo = words[:, 0], words[:, 1]
        mapped = ok & (hi == 0) & ((lo >> np.uint64(32)) == np.uint64(0xFFFF))
        plain6 = ok & ~mapped
        good = idx[ok]
        valid[good] = True
        version[idx[mapped]] = 4
        v4[idx[mapped]] = lo[mapped] & np.uint64(0xFFFFFFFF)
        version[idx[plain6]] = 6
        v6hi[idx[plain6]] = hi[plain6]
        v6lo[idx[plain6]] = lo[plain6]
    return ParsedIPs(valid, version, v4, v6hi, v6lo)


def format_v6_prefix48(top48: np.ndarray) -> list[str]:
    """``'<net>/48'`` strings for the top 48 bits of IPv6 addresses (``uint64`` array).

    Uses :func:`socket.inet_ntop`, whose output equals :mod:`ipaddress`'s compressed
    form for addresses whose low 80 bits are zero.
    """
    ntop, fam = socket.inet_ntop, socket.AF_INET6
    words = np.zeros((top48.size, 2), dtype=">u8")
    words[:, 0] = np.asarray(top48, dtype=np.uint64) << np.uint64(16)
    buf = words.tobytes()
    return [ntop(fam, buf[16 * i : 16 * i + 16]) + "/48" for i in range(top48.size)]


def format_v4(values: np.ndarray) -> pa.Array:
    """Dotted-quad strings for a ``uint`` array of IPv4 addresses (vectorised)."""
    v = np.asarray(values, dtype=np.uint64)
    octets = [pa.array(((v >> np.uint64(shift)) & np.uint64(255)).astype(np.uint8)).cast(pa.string()) for shift in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".")


def format_v6(hi: Iterable[int], lo: Iterable[int]) -> list[str]:
    """Compressed IPv6 strings (RFC 5952, via :mod:`ipaddress`) for ``(hi, lo)`` pairs."""
    return [str(ipaddress.IPv6Address((int(h) << 64) | int(l))) for h, l in zip(hi, lo)]


def _v4_masks(plen: np.ndarray) -> np.ndarray:
    host = (32 - plen).astype(np.uint64)
    return (np.uint64(1) << host) - np.uint64(1)  # host <= 32, no overflow in uint64


def _v6_masks(plen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    host = (128 - plen).astype(np.int64)
    full = np.uint64(0xFFFFFFFFFFFFFFFF)

    def low_bits(k: np.ndarray) -> np.ndarray:  # (1 << k) - 1 for 0 <= k <= 64
        """``(1 << k) - 1`` as ``uint64`` per element, ``k`` clipped to 0..64 (64 gives all ones)."""
        k = np.clip(k, 0, 64)
        out = (np.uint64(1) << np.minimum(k, 63).astype(np.uint64)) - np.uint64(1)
        return np.where(k >= 64, full, out)

    lo_mask = low_bits(host)
    hi_mask = low_bits(host - 64)
    return hi_mask, lo_mask


_CIDR_REGEX = r"^(?P<addr>[0-9A-Fa-f:.]+)(?:/(?P<plen>[0-9]{1,3}))?$"


def parse_cidr_lines(lines: Sequence[str] | pa.Array) -> tuple[dict[int, tuple], int]:
    """Parse CIDR / single-address lines into inclusive ranges per address family.

    Blank lines and ``#`` comments are skipped; text after the first whitespace is
    ignored; a bare address is a /32 or /128; host bits are cleared (``strict=False``
    semantics). Vectorised with ``pyarrow.compute`` (IPv6 addresses via ``inet_pton``).

    Returns:
        ``({4: (starts, ends), 6: ((shi, slo), (ehi, elo))}, n_invalid)`` where IPv4
        bounds are ``uint64`` arrays and IPv6 bounds are word pairs.
    """
    col = lines if isinstance(lines, pa.Array) else pa.array(list(lines), type=pa.string())
    col = pc.utf8_trim_whitespace(pc.replace_substring_regex(col, r"#.*$", ""))
    col = col.filter(pc.fill_null(pc.greater(pc.utf8_length(col), 0), False))
    col = pc.replace_substring_regex(col, r"\s.*$", "")
    m = pc.extract_regex(col, _CIDR_REGEX)
    ok = pc.is_valid(m).to_numpy(zero_copy_only=False)
    bad = int((~ok).sum())
    addr = pc.struct_field(m, [0]).filter(pa.array(ok))
    plen_s = pc.struct_field(m, [1]).filter(pa.array(ok))
    plen_s = pc.if_else(pc.equal(plen_s, ""), pa.scalar(None, pa.string()), plen_s)
    plen = pc.fill_null(plen_s.cast(pa.int64()), -1).to_numpy(zero_copy_only=False)

    out: dict[int, tuple] = {}
    is6 = pc.fill_null(pc.match_substring(addr, ":"), False).to_numpy(zero_copy_only=False)
    sel4 = np.nonzero(~is6)[0]
    ok4, v4 = parse_v4_column(addr.take(pa.array(sel4, type=pa.int64())), strict=False)
    p4 = plen[sel4]
    good4 = ok4 & (p4 <= 32)
    bad += int((~good4).sum())
    p4 = np.where(p4[good4] < 0, 32, p4[good4])
    m4 = _v4_masks(p4)
    s4 = v4[good4] & ~m4 & np.uint64(0xFFFFFFFF)
    out[4] = (s4, s4 | m4)

    sel6 = np.nonzero(is6)[0]
    ok6, hi, lo = parse_v6_strings(addr.take(pa.array(sel6, type=pa.int64())).to_pylist())
    p6 = plen[sel6]
    ok6 &= p6 <= 128
    bad += int((~ok6).sum())
    hi, lo, p6 = hi[ok6], lo[ok6], np.where(p6[ok6] < 0, 128, p6[ok6])
    hm, lm = _v6_masks(p6)
    shi, slo = hi & ~hm, lo & ~lm
    out[6] = ((shi, slo), (shi | hm, slo | lm))
    return out, bad
