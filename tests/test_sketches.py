"""near_duplicate_roots: bucket-by-bucket merging gives exactly the groups of the pairwise method.

The reference is the straightforward method written independently here: every LSH candidate pair
from rensa's own ``RMinHashLSH.query_all`` is verified with the exact Jaccard similarity and
similar pairs are joined with union-find (root = smallest index).
"""

from __future__ import annotations

import random

from rensa import RMinHash, RMinHashLSH

from distillwatch.features.sketches import NUM_PERM, _bands_for, near_duplicate_roots


def _reference(sets, threshold, num_perm=NUM_PERM, seed=7):
    parent = list(range(len(sets)))

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    lsh = RMinHashLSH(threshold, num_perm, _bands_for(threshold, num_perm))
    mhs = []
    for s in sets:
        m = RMinHash(num_perm, seed)
        m.update(sorted(s))
        mhs.append(m)
    lsh.insert_many(mhs, 0)
    for k, cands in enumerate(lsh.query_all(mhs)):
        for j in cands:
            a, b = sets[k], sets[j]
            if j != k and len(a & b) >= threshold * len(a | b):
                ra, rb = find(k), find(j)
                parent[max(ra, rb)] = min(ra, rb)
    return [find(k) for k in range(len(sets))]


def _families(rng, n_fam=40, per=30, core=6, vocab=400):
    """Sets in families: a shared core plus a few random extra items (like template skeletons)."""
    out = []
    for f in range(n_fam):
        base = {f"f{f}_{i}" for i in range(core)}
        for _ in range(per):
            s = set(rng.sample(sorted(base), k=rng.randint(core - 2, core)))
            s |= {f"w{rng.randrange(vocab)}" for _ in range(rng.randint(0, 3))}
            out.append(s)
    rng.shuffle(out)
    return out


def test_bucket_merge_equals_pairwise_reference():
    rng = random.Random(11)
    sets = _families(rng)
    for threshold in (0.5, 0.6, 0.8):
        got = near_duplicate_roots(sets, threshold)
        assert got == _reference(sets, threshold)
        assert 1 < len(set(got)) < len(sets)


def test_identical_sets_join_and_disjoint_sets_stay_apart():
    sets = [{"a", "b", "c"}, {"x", "y"}, {"a", "b", "c"}, {"p", "q", "r"}]
    assert near_duplicate_roots(sets, 0.6) == [0, 1, 0, 3]
    assert near_duplicate_roots([{"a"}], 0.6) == [0]
    assert near_duplicate_roots([], 0.6) == []
