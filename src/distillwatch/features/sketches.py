"""Near-duplicate grouping of sets: MinHash LSH candidates, exact verification, leader peeling.

Used for prompt-template skeletons (sets of template-sentence hashes) and for lockstep
co-activity (sets of active hours). Sets are one flat uint64 token array plus row offsets (CSR),
so millions of sets never become millions of Python objects; every step is a numpy/scipy array
operation over all sets at once.

Candidates: MinHash (Broder 1997) with LSH banding (Indyk & Motwani 1998): sets sharing all the
MinHash values of one band share a bucket; a pair of Jaccard similarity J shares at least one
bucket with the probability given in :func:`_bands_for` (deterministic for a fixed seed). The
MinHash functions are ``h_i(x) = (a_i * mix(x) + b_i) mod 2^64`` keeping the high 32 bits
(multiply-shift hashing, Dietzfelbinger et al. 1997) with odd ``a_i`` from a seeded generator.

Verification: the exact Jaccard similarity, so no two sets below the threshold are ever joined
directly.

Grouping: the target is the connected components of all verified candidate pairs (single
linkage within buckets). Comparing every pair of a bucket grows quadratically with families of
near-identical sets (60M pairs for 59k skeletons), so within each bucket members are compared
with a *leader* (greedy leader clustering, Hartigan 1975, "Clustering Algorithms", ch. 3): the
first member, then the first member not yet verified, and so on, all buckets at once, one
vectorised round per leader rank, at most ``MAX_LEADERS`` per bucket. A second pass revisits only
buckets not yet one group, with the members of the smallest groups leading, so sets that matched
nobody lead first. Passes stop when one joins nothing (at most ``PEEL_PASSES``).
"""

from __future__ import annotations

import numpy as np

NUM_PERM = 120
"""MinHash permutations (signature length); 120 has many divisors, so the band count can be fitted to the threshold."""

VERIFY_CHUNK = 500_000
"""Candidate pairs verified per vectorised step (bounds its transient memory: about 1 kB per pair for 32-token sets)."""


def near_duplicate_roots(sets: list[set[str]], threshold: float) -> list[int]:
    """Group sets of strings whose Jaccard similarity is >= ``threshold``.

    Strings are hashed to uint64 with :func:`distillwatch.classify.features.hash_strings`, then
    grouped by :func:`near_duplicate_roots_csr`.

    Args:
        sets: the sets to group (items are strings); order matters for the output only.
        threshold: Jaccard similarity in (0, 1].

    Returns:
        for each input set, the index of its group's root: the smallest index in the group, so
        that callers who sort their input by frequency get the most frequent member as root.

    Raises:
        ValueError: ``threshold`` is outside (0, 1].
    """
    import pyarrow as pa

    from distillwatch.classify.features import hash_strings

    lens = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
    offsets = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    tokens = hash_strings(pa.array([t for s in sets for t in s], type=pa.string()))
    return near_duplicate_roots_csr(tokens, offsets, threshold).tolist()


def near_duplicate_roots_csr(tokens: np.ndarray, offsets: np.ndarray, threshold: float, num_perm: int = NUM_PERM,
                             seed: int = 7) -> np.ndarray:
    """Group sets given as CSR token hashes; see :func:`near_duplicate_roots`.

    Args:
        tokens: uint64 token hashes of all sets, concatenated, shape ``(n_tokens,)``; a set's
            tokens must be distinct.
        offsets: int64 row offsets, shape ``(n_sets + 1,)``: set ``k`` is
            ``tokens[offsets[k]:offsets[k + 1]]``.
        threshold: Jaccard similarity in (0, 1].
        num_perm: MinHash signature length; bands are chosen by :func:`_bands_for`.
        seed: MinHash seed, for determinism.

    Returns:
        int64 array, shape ``(n_sets,)``: the smallest index in each set's group.

    Raises:
        ValueError: ``offsets`` does not describe ``tokens`` (not starting at 0, decreasing, or
            not ending at ``len(tokens)``), or ``threshold`` is outside (0, 1].
    """
    tokens = np.ascontiguousarray(tokens, dtype=np.uint64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(tokens) or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must start at 0, never decrease and end at len(tokens)")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    n = len(offsets) - 1
    if n < 2 or len(tokens) == 0:
        return np.arange(n, dtype=np.int64)
    sizes = np.diff(offsets)
    set_of = np.repeat(np.arange(n, dtype=np.int64), sizes)
    # token ids for verification, each set's ids sorted
    _, inv = np.unique(tokens, return_inverse=True)
    ids = inv.ravel().astype(np.int32 if len(tokens) < 2 ** 31 else np.int64)
    del inv
    by_set = np.lexsort((ids, set_of))
    n_ids = int(ids.max()) + 1
    ids = ids[by_set]
    del by_set, set_of  # held to the end otherwise: 8 bytes per token each, gigabytes on a 16M-request log
    verify = _Verifier(ids, offsets, n_ids, threshold)
    del ids
    # memberships band by band, int32 where they fit: all bands at once took about 100 bytes per
    # membership through sorting and peeling (about 180M memberships, 18 GB, for the 9M skeletons
    # of a 28.8M-request log)
    bands = _lsh_memberships(tokens, offsets, threshold, num_perm, seed)
    label = np.arange(n, dtype=np.int64)
    n_groups = n
    for p in range(PEEL_PASSES):
        if p == 0:
            visit = np.arange(n, dtype=np.int64)
        else:
            # smallest groups lead: sets left out so far lead first and meet the members of their buckets
            size = np.bincount(label, minlength=n)[label]
            visit = np.empty(n, dtype=np.int64)
            visit[np.lexsort((np.random.default_rng(p).permutation(n), size))] = np.arange(n)
        any_mixed = False
        for bucket, member in bands:
            if not len(bucket):
                continue
            # only buckets whose members are not yet one group: peeling one that is can only add
            # edges inside a group, so skipping it leaves the groups exactly as they would be
            comp = label[member]
            o = np.argsort(bucket, kind="stable")
            bk = bucket[o]
            starts = np.flatnonzero(np.concatenate(([True], bk[1:] != bk[:-1])))
            mixed = np.minimum.reduceat(comp[o], starts) != np.maximum.reduceat(comp[o], starts)
            del comp
            mixed_bucket = np.repeat(mixed, np.diff(np.append(starts, len(bk))))
            if not mixed_bucket.any():
                continue
            any_mixed = True
            a, b = _peel(bk[mixed_bucket], member[o][mixed_bucket], visit, verify)
            del o, bk, mixed_bucket
            if len(a):
                # groups are named by their smallest member, so joining roots and relabelling is exact
                label = _components(label[a], label[b], n)[label]
        if not any_mixed:
            break
        groups = len(np.unique(label))
        if groups == n_groups:
            break
        n_groups = groups
    return label


PEEL_PASSES = 2
"""Leader-peeling passes: the first visits sets in index order (callers sort by frequency, so the
most frequent variant leads), the second revisits only buckets not yet one group with the
smallest groups leading. Measured on template-like families (tests/test_sketches.py, Jaccard
0.6): adjusted Rand index against all-pairs single linkage 0.89 after one pass, 0.94 after two,
0.94 after twelve (the rest are LSH misses). On the 350k skeletons of a 1M-request log the first two passes
took 36 s and a third another 24 s to reduce the groups by 1.7 % (43,798 to 43,070)."""


MAX_LEADERS = 64
"""Leaders per bucket and pass at most. LSH puts many dissimilar sets in one bucket when they
share a token whose hashes are small in every permutation of a band (sets ``{x, y}`` for one
common ``x``: 11,289 members in one bucket of a 1M-request log, 2 of 3 of them matching no
leader); peeling such a bucket to the end costs its size times its leaders, which grows with the
square of the log. Members left after ``MAX_LEADERS`` leaders stay to the other bands."""


def _components(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected components of the pairs ``(a[i], b[i])`` over ``n`` nodes, labelled by their smallest node."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    # int32 weights: duplicate pairs are summed, and int8 sums could wrap to an explicit zero
    g = sp.coo_matrix((np.ones(len(a), dtype=np.int32), (a, b)), shape=(n, n)).tocsr()
    _, label = connected_components(g, directed=False)
    root = np.full(label.max() + 1, n, dtype=np.int64)
    np.minimum.at(root, label, np.arange(n, dtype=np.int64))
    return root[label]


def _peel(bucket: np.ndarray, member: np.ndarray, visit: np.ndarray, verify) -> tuple[np.ndarray, np.ndarray]:
    """Verified similar pairs ``(leader, member)`` by greedy leader peeling in each candidate bucket.

    ``bucket[i]`` and ``member[i]`` describe one membership (a set in one LSH bucket).
    Within a bucket members are visited in the order of ``visit[member]``. Each round pairs every
    bucket's first remaining member (its leader) with the bucket's other remaining members,
    verifies all pairs of all buckets at once (``verify(a, b)`` -> bool mask), and removes the
    leader and the members it verified; buckets with fewer than two members left drop out. A
    bucket gets at most ``MAX_LEADERS`` leaders, so the work is linear in its size.

    Returns:
        two int64 arrays of equal length: leader and member indices of the verified pairs.
    """
    order = np.lexsort((visit[member], bucket))
    bkt, mem = bucket[order], member[order]
    out_a, out_b = [], []
    for _ in range(MAX_LEADERS):
        if not len(mem):
            break
        first = np.concatenate(([True], bkt[1:] != bkt[:-1]))
        bstart = np.flatnonzero(first)
        blen = np.diff(np.append(bstart, len(mem)))
        still = np.repeat(blen >= 2, blen)
        if not still.all():
            bkt, mem, first = bkt[still], mem[still], first[still]
            if not len(mem):
                break
            bstart = np.flatnonzero(first)
            blen = np.diff(np.append(bstart, len(mem)))
        leader = np.repeat(mem[bstart], blen)
        cand = np.flatnonzero(~first)
        a, b = leader[cand], mem[cand]
        ok = verify(a, b)
        out_a.append(a[ok])
        out_b.append(b[ok])
        left = cand[~ok]
        bkt, mem = bkt[left], mem[left]
    if not out_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_a), np.concatenate(out_b)


class _Verifier:
    """Exact Jaccard test for pairs of sets: ``verifier(a, b)`` -> bool mask ``J(a[i], b[i]) >= threshold``.

    Sets of at most ``DENSE_MAX`` tokens are compared as rows of a padded token matrix (every
    token of one row against every token of the other, vectorised over the pairs); larger sets
    through a sparse row-wise product. Both in chunks of ``VERIFY_CHUNK`` pairs.
    """

    DENSE_MAX = 32

    def __init__(self, token_ids: np.ndarray, offsets: np.ndarray, n_tokens: int, threshold: float):
        self.threshold = threshold
        self.sizes = np.diff(offsets)
        n = len(self.sizes)
        width = int(self.sizes.max()) if n else 0
        if width <= self.DENSE_MAX:
            pos = np.arange(len(token_ids)) - np.repeat(offsets[:-1], self.sizes)
            self.dense = np.full((n, max(width, 1)), -1, dtype=token_ids.dtype)
            self.dense[np.repeat(np.arange(n), self.sizes), pos] = token_ids
            self.rows = None
        else:
            import scipy.sparse as sp

            self.dense = None
            self.rows = sp.csr_matrix((np.ones(len(token_ids), dtype=np.float32), token_ids, offsets),
                                      shape=(n, n_tokens))

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ok = np.empty(len(a), dtype=bool)
        for lo in range(0, len(a), VERIFY_CHUNK):
            ia, ib = a[lo:lo + VERIFY_CHUNK], b[lo:lo + VERIFY_CHUNK]
            if self.dense is not None:
                x, y = self.dense[ia], self.dense[ib]
                y = np.where(y < 0, -2, y)
                inter = (x[:, :, None] == y[:, None, :]).sum(axis=(1, 2))
            else:
                inter = np.asarray(self.rows[ia].multiply(self.rows[ib]).sum(axis=1)).ravel()
            union = self.sizes[ia] + self.sizes[ib] - inter
            ok[lo:lo + VERIFY_CHUNK] = inter >= self.threshold * union
        return ok


def _lsh_memberships(tokens: np.ndarray, offsets: np.ndarray, threshold: float, num_perm: int, seed: int
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """LSH bucket memberships ``(bucket, member)`` of each band, only for buckets of two or more sets.

    Band ``j`` of set ``k`` is the tuple of MinHash values ``j*r .. j*r + r - 1`` (``r = num_perm /
    bands``), hashed to one uint64 key; equal keys in one band form a bucket. Empty sets join no
    bucket. Returns one pair of arrays per band (bucket ids are numbered within the band), int32
    when the number of sets allows.
    """
    bands = _bands_for(threshold, num_perm)
    r = num_perm // bands
    rng = np.random.default_rng(seed)
    mul = rng.integers(1, 2 ** 63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    add = rng.integers(0, 2 ** 63, size=num_perm, dtype=np.uint64)
    sizes = np.diff(offsets)
    nonempty = np.flatnonzero(sizes > 0)
    idx = np.int32 if len(sizes) < 2 ** 31 else np.int64
    base = _mix(tokens)
    out = []
    for band in range(bands):
        key = np.zeros(len(nonempty), dtype=np.uint64)
        for i in range(band * r, (band + 1) * r):
            h = (base * mul[i] + add[i]) >> np.uint64(32)
            key = _mix(key * np.uint64(0x100000001B3) + np.minimum.reduceat(h, offsets[nonempty]))
            del h
        order = np.argsort(key, kind="stable")
        sk = key[order]
        del key
        starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
        del sk
        lens = np.diff(np.append(starts, len(order)))
        big = np.repeat(lens >= 2, lens)
        member = nonempty[order[big]].astype(idx)
        bucket = np.repeat(np.arange(len(starts), dtype=idx), lens)[big]
        out.append((bucket, member))
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (Steele et al., OOPSLA 2014), elementwise on uint64."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _bands_for(threshold: float, num_perm: int) -> int:
    """Number of LSH bands ``b`` (a divisor of ``num_perm``) whose S-curve is centred on ``threshold``.

    Two sets of Jaccard ``s`` become candidates with probability ``P(s) = 1 - (1 - s^r)^b``,
    ``r = num_perm / b``; the curve's midpoint is about ``(1/b)^(1/r)``. We take the ``b`` whose
    midpoint is nearest ``threshold``. For 0.6 and 120 permutations that is b = 20, r = 6:
    P(0.6) = 0.62, P(0.7) = 0.92, P(0.8) = 0.998. Near-duplicate families are merged reliably
    through chains of close pairs; a lone pair just above the threshold may stay apart. Bands
    chosen for recall at the threshold itself would multiply the candidates (measured: 9.5M at
    b = 20 versus 38M at b = 40 on 41k skeletons) for little gain.
    """
    divisors = [b for b in range(1, num_perm + 1) if num_perm % b == 0]
    return min(divisors, key=lambda b: (abs((1.0 / b) ** (b / num_perm) - threshold), b))
