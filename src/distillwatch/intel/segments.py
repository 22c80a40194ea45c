"""Vectorised interval lookup over IPv4 / IPv6 address space.

Addresses are represented as *word tuples* of ``numpy.uint64`` arrays:

* IPv4: one word, ``(addr,)``, the address as an integer in ``[0, 2**32)``
  (held in ``uint64`` so that ``end + 1`` never overflows);
* IPv6: two words, ``(hi, lo)``, the upper and lower 64 bits of the address.

Range tables (ASN ranges, country ranges, CIDR lists) may overlap or nest. They are
flattened once, at load time, into a :class:`SegmentIndex`: a sorted array of
boundaries that cuts the address space into elementary segments, each carrying the
row id of the *narrowest* input range that covers it (``-1`` where nothing does).
Ties between equally wide ranges go to the higher ``pref`` value, then to the
earlier row. A lookup is then one ``searchsorted`` per query batch.

The flattening is fully vectorised: boundaries come from ``unique(starts, ends + 1)``
and the "narrowest range wins" rule is a range-chmax over segment indices, solved
with an array-backed segment tree (``O((n + m) log m)``, no Python loop over rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SegmentIndex", "build_segments", "search", "MAX_U64"]

MAX_U64 = np.uint64(0xFFFFFFFFFFFFFFFF)

Words = tuple  # tuple[np.ndarray, ...] of uint64, one or two arrays of equal length


def _as_words(words: Words) -> Words:
    return tuple(np.ascontiguousarray(w, dtype=np.uint64) for w in words)


def search(bounds: Words, query: Words, side: str = "right") -> np.ndarray:
    """Lexicographic ``numpy.searchsorted`` over one- or two-word keys.

    Args:
        bounds: sorted keys, a tuple of 1 or 2 ``uint64`` arrays of length ``m``.
        query: keys to place, a tuple with the same number of words, length ``q``.
        side: ``"left"`` (count of bounds ``<`` query) or ``"right"`` (count ``<=``).

    Returns:
        ``int64`` array of length ``q`` with insertion positions in ``[0, m]``.
    """
    if len(bounds) == 1:
        return np.searchsorted(bounds[0], query[0], side=side).astype(np.int64)
    bhi, blo = bounds
    qhi, qlo = query
    lo = np.searchsorted(bhi, qhi, side="left").astype(np.int64)
    hi = np.searchsorted(bhi, qhi, side="right").astype(np.int64)
    # Within each block of equal high words, binary-search the low word (vectorised).
    active = np.nonzero(lo < hi)[0]
    while active.size:
        lo_a, hi_a = lo[active], hi[active]
        mid = (lo_a + hi_a) >> 1
        if side == "right":
            go_right = blo[mid] <= qlo[active]
        else:
            go_right = blo[mid] < qlo[active]
        lo_a = np.where(go_right, mid + 1, lo_a)
        hi_a = np.where(go_right, hi_a, mid)
        lo[active], hi[active] = lo_a, hi_a
        active = active[lo_a < hi_a]
    return lo


def _unique(words: Words) -> Words:
    if len(words) == 1:
        w = np.sort(words[0])  # sort-based: numpy>=2.3's hash-based unique is much slower here
        keep = np.ones(w.size, dtype=bool)
        keep[1:] = w[1:] != w[:-1]
        return (w[keep],)
    hi, lo = words
    order = np.lexsort((lo, hi))
    hi, lo = hi[order], lo[order]
    keep = np.ones(hi.size, dtype=bool)
    keep[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    return (hi[keep], lo[keep])


def _increment(words: Words) -> tuple[Words, np.ndarray]:
    """``words + 1`` and a mask of values that overflowed the key space."""
    if len(words) == 1:
        (w,) = words
        overflow = w == MAX_U64
        with np.errstate(over="ignore"):
            return (w + np.uint64(1),), overflow
    hi, lo = words
    with np.errstate(over="ignore"):
        lo1 = lo + np.uint64(1)
    carry = lo1 == 0
    overflow = carry & (hi == MAX_U64)
    with np.errstate(over="ignore"):
        hi1 = hi + carry.astype(np.uint64)
    return (hi1, lo1), overflow


def _width(starts: Words, ends: Words) -> Words:
    """``ends - starts`` (both inclusive bounds, ``ends >= starts``)."""
    if len(starts) == 1:
        return (ends[0] - starts[0],)
    shi, slo = starts
    ehi, elo = ends
    with np.errstate(over="ignore"):
        lo = elo - slo
        hi = ehi - shi - (elo < slo).astype(np.uint64)
    return (hi, lo)


def _less_equal(a: Words, b: Words) -> np.ndarray:
    if len(a) == 1:
        return a[0] <= b[0]
    return (a[0] < b[0]) | ((a[0] == b[0]) & (a[1] <= b[1]))


def _range_chmax(lo: np.ndarray, hi: np.ndarray, val: np.ndarray, m: int) -> np.ndarray:
    """For each leaf ``j < m``, the max of ``val[i]`` over ranges with ``lo[i] <= j < hi[i]``.

    Leaves no range covers get ``-1``. Bottom-up segment tree, vectorised over ranges.
    """
    size = 1
    while size < m:
        size <<= 1
    tree = np.full(2 * size, -1, dtype=np.int64)
    left = lo.astype(np.int64) + size
    right = hi.astype(np.int64) + size
    v = val.astype(np.int64)
    keep = left < right
    left, right, v = left[keep], right[keep], v[keep]
    while left.size:
        odd = (left & 1).astype(bool)
        if odd.any():
            np.maximum.at(tree, left[odd], v[odd])
            left = left + odd
        odd = (right & 1).astype(bool)
        if odd.any():
            right = right - odd
            np.maximum.at(tree, right[odd], v[odd])
        left >>= 1
        right >>= 1
        keep = left < right
        left, right, v = left[keep], right[keep], v[keep]
    # Push the maxima down to the leaves, one level at a time.
    level = 1
    while level < size:
        parents = np.repeat(tree[level : 2 * level], 2)
        np.maximum(tree[2 * level : 4 * level], parents, out=tree[2 * level : 4 * level])
        level <<= 1
    return tree[size : size + m]


@dataclass(frozen=True)
class SegmentIndex:
    """A flattened, non-overlapping segmentation of one address family.

    Attributes:
        bounds: word tuple of sorted, unique segment starts (length ``m``). Segment
            ``i`` covers ``[bounds[i], bounds[i + 1])``; the last one runs to the end
            of the address space; addresses below ``bounds[0]`` are uncovered.
        values: ``int64`` array of length ``m``: the input row id covering segment
            ``i`` (the narrowest one), or ``-1``.
    """

    bounds: Words
    values: np.ndarray

    @property
    def nwords(self) -> int:
        """Words per address: 1 for IPv4, 2 for IPv6."""
        return len(self.bounds)

    def __len__(self) -> int:
        return int(self.values.size)

    @classmethod
    def empty(cls, nwords: int) -> "SegmentIndex":
        """An index with no segments for ``nwords``-word addresses (every lookup gives ``-1``)."""
        return cls(tuple(np.zeros(0, dtype=np.uint64) for _ in range(nwords)), np.zeros(0, dtype=np.int64))

    def lookup(self, query: Words) -> np.ndarray:
        """Row id covering each query address (``int64``, ``-1`` if none)."""
        n = query[0].size
        out = np.full(n, -1, dtype=np.int64)
        if n == 0 or self.values.size == 0:
            return out
        pos = search(self.bounds, _as_words(query), side="right") - 1
        ok = pos >= 0
        out[ok] = self.values[pos[ok]]
        return out

    def covered(self, query: Words) -> np.ndarray:
        """Boolean mask: is each query address inside any input range."""
        return self.lookup(query) >= 0


def build_segments(
    starts: Words,
    ends: Words,
    pref: np.ndarray | None = None,
    *,
    boolean: bool = False,
) -> SegmentIndex:
    """Flatten possibly overlapping inclusive ranges ``[starts[i], ends[i]]``.

    Args:
        starts, ends: word tuples (1 word for IPv4, 2 for IPv6) of equal length ``n``,
            inclusive bounds. Rows with ``end < start`` are ignored.
        pref: optional ``int`` array of length ``n``; among equally wide ranges covering
            an address the higher ``pref`` wins (then the earlier row).
        boolean: if true, only coverage matters: adjacent covered segments are merged
            and ``values`` hold an arbitrary covering row id.

    Returns:
        A :class:`SegmentIndex`. Overlaps resolve to the narrowest covering range, so
        nested CIDRs (a /28 inside a /9) return the /28's row for addresses inside it
        and the /9's row elsewhere.
    """
    starts, ends = _as_words(starts), _as_words(ends)
    nwords = len(starts)
    n = starts[0].size
    if n == 0:
        return SegmentIndex.empty(nwords)
    valid = _less_equal(starts, ends)
    rows = np.nonzero(valid)[0]
    if rows.size == 0:
        return SegmentIndex.empty(nwords)
    starts = tuple(w[rows] for w in starts)
    ends = tuple(w[rows] for w in ends)
    end1, overflow = _increment(ends)

    bounds = _unique(tuple(np.concatenate([s, e[~overflow]]) for s, e in zip(starts, end1)))
    m = bounds[0].size
    seg_lo = search(bounds, starts, side="left")
    seg_hi = np.full(rows.size, m, dtype=np.int64)
    keep = ~overflow
    if keep.any():
        seg_hi[keep] = search(bounds, tuple(e[keep] for e in end1), side="left")

    # Rank: narrower ranges (then higher pref, then earlier rows) get a higher rank.
    width = _width(starts, ends)
    p = np.zeros(rows.size, dtype=np.int64) if pref is None else np.asarray(pref, dtype=np.int64)[rows]
    order = np.lexsort((-p, *reversed(width)))  # ascending width: primary key is last
    # Among equal width and pref, lexsort is stable: earlier rows come first in
    # ``order`` and receive the higher rank below.
    rank = np.empty(rows.size, dtype=np.int64)
    rank[order] = np.arange(rows.size - 1, -1, -1)
    leaf = _range_chmax(seg_lo, seg_hi, rank, m)
    row_of_rank = np.empty(rows.size, dtype=np.int64)
    row_of_rank[rank] = rows
    values = np.where(leaf >= 0, row_of_rank[np.maximum(leaf, 0)], -1)

    key = values >= 0 if boolean else values
    keep = np.ones(m, dtype=bool)
    keep[1:] = key[1:] != key[:-1]
    return SegmentIndex(tuple(b[keep] for b in bounds), values[keep])
