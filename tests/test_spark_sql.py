"""The DuckDB -> Spark rewrite table (distillwatch.engine.spark_sql), one rule at a time.

Each case is a DuckDB query, and its value worked out by hand. The query must give that value on
DuckDB as written and on Spark after translation, so a rule that is wrong for either engine fails.
"""

from __future__ import annotations

import duckdb
import pytest

from distillwatch.engine.spark_sql import UnsupportedSQL, to_spark

T = "(VALUES ('b', 2), ('a', 2), ('c', 1), ('b', 0)) t(x, n)"
"""Four rows: x = b, a, c, b with n = 2, 2, 1, 0."""

CASES = [
    # regexp_matches(x, p, 'i'): the flag becomes an inline (?i); without it matching is case-sensitive
    ("regexp_i", r"SELECT regexp_matches('Say HELLO there', '\bhello\b', 'i') AS v", True),
    ("regexp_case", r"SELECT regexp_matches('Say HELLO there', '\bhello\b') AS v", False),
    ("regexp_escape", r"SELECT regexp_matches('ab12', '\d{2}$') AS v", True),
    # len(list) is the list size, not a string length
    ("len_list", "SELECT len(['ab', 'cde', 'f']) AS v", 3),
    # 1-based indexes, negative from the end
    ("index_first", "SELECT (['a', 'b', 'c'])[1] AS v", "a"),
    ("index_last", "SELECT (['a', 'b', 'c'])[-1] AS v", "c"),
    ("index_second_last", "SELECT (['a', 'b', 'c'])[-2] AS v", "b"),
    # inclusive slices; [-k:] is the last k elements, all of them when the list is shorter
    ("slice_mid", "SELECT (['a', 'b', 'c', 'd'])[2:3] AS v", ["b", "c"]),
    ("slice_head", "SELECT (['a', 'b', 'c', 'd'])[1:8] AS v", ["a", "b", "c", "d"]),
    ("slice_tail", "SELECT (['a', 'b', 'c', 'd'])[-2:] AS v", ["c", "d"]),
    ("slice_tail_short", "SELECT (['a'])[-4:] AS v", ["a"]),
    ("slice_from", "SELECT (['a', 'b', 'c'])[2:] AS v", ["b", "c"]),
    # the lambda's second parameter is the 1-based position
    ("lambda_index", "SELECT list_transform(['x', 'y'], lambda s, i: i) AS v", [1, 2]),
    ("lambda_index_expr", "SELECT list_transform(['x', 'y'], lambda s, i: s || (i * 10)::VARCHAR) AS v",
     ["x10", "y20"]),
    # epoch: seconds as DOUBLE with the microseconds; 2026-01-01T00:00:00Z is 1767225600 s
    ("epoch", "SELECT epoch(TIMESTAMPTZ '2026-01-01 00:00:01.5+00') AS v", 1767225601.5),
    ("epoch_micro", "SELECT epoch(TIMESTAMPTZ '2026-01-01 00:00:00.000001+00') AS v", 1767225600.000001),
    ("epoch_interval", "SELECT epoch(TIMESTAMPTZ '2026-01-01 01:30:00+00' - TIMESTAMPTZ '2026-01-01 00:00:00+00') AS v",
     5400.0),
    # DOUBLE -> integer casts round half to even in DuckDB; Spark would truncate
    ("cast_div_up", "SELECT (7 / 2)::BIGINT AS v", 4),  # 3.5 -> 4
    ("cast_div_even", "SELECT (5 / 2)::BIGINT AS v", 2),  # 2.5 -> 2
    ("cast_div_neg", "SELECT (-5 / 2)::BIGINT AS v", -2),  # -2.5 -> -2
    # 00:40 is 1767228000 s; / 3600 = 490896.67, which rounds to 490897 (not floor 490896)
    ("cast_div_hour", "SELECT (epoch(TIMESTAMPTZ '2026-01-01 00:40:00+00') / 3600)::BIGINT AS v", 490897),
    # first(x ORDER BY n DESC, x): n = 2 ties between b and a; x breaks the tie -> a
    ("first_ordered", f"SELECT first(x ORDER BY n DESC, x) AS v FROM {T}", "a"),
    ("first_ordered_asc", f"SELECT first(x ORDER BY n, x) AS v FROM {T}", "b"),
    # list(DISTINCT x ORDER BY x)
    ("list_distinct", f"SELECT list(DISTINCT x ORDER BY x) AS v FROM {T}", ["a", "b", "c"]),
    # mode without a tie: b appears twice
    ("mode", f"SELECT mode(x) AS v FROM {T}", "b"),
    # the form the pipeline writes: a and b tie (twice each) -> the smallest, a, on both engines
    ("mode_ordered_tie", "SELECT mode(x ORDER BY x) AS v FROM (VALUES ('b'), ('a'), ('c'), ('a'), ('b')) t(x)", "a"),
    # sqlglot's own translations the pipeline relies on
    ("split_regex", "SELECT string_split_regex('a. b..c.', '[.]+') AS v", ["a", " b", "c", ""]),
    ("string_agg_ordered", f"SELECT string_agg(x, ',' ORDER BY n, x) AS v FROM {T}", "b,c,a,b"),
    ("strftime", "SELECT strftime(TIMESTAMPTZ '2026-03-02 23:59:00+00', '%Y-%m-%d') AS v", "2026-03-02"),
]


@pytest.mark.parametrize("name,sql,expected", CASES, ids=[c[0] for c in CASES])
def test_rewrite_gives_duckdb_value_on_spark(spark, name, sql, expected):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    on_duckdb = con.execute(sql).fetchall()[0][0]
    on_spark = spark.sql(to_spark(sql)).collect()[0]["v"]
    for got in (on_duckdb, on_spark):
        if isinstance(expected, float):
            assert got == pytest.approx(expected, abs=1e-9)
        else:
            assert got == expected


def test_mode_tie_is_deterministic_on_spark(spark):
    # a and b both appear twice: Spark's deterministic mode returns the smaller value
    sql = "SELECT mode(x) AS v FROM (VALUES ('b'), ('a'), ('c'), ('a'), ('b')) t(x)"
    assert spark.sql(to_spark(sql)).collect()[0]["v"] == "a"


@pytest.mark.parametrize("sql", [
    "SELECT 7 // 2",  # '//' divides DOUBLEs but truncates integers in DuckDB: ambiguous without types
    "SELECT regexp_matches('a', 'a', 'g')",  # only the 'i' flag is translated
    "SELECT ([1, 2, 3])[1:k] FROM t",  # slice bounds must be literals
    "SELECT list(x ORDER BY y) FROM t",  # only list(DISTINCT x ORDER BY x)
    "SELECT mode(x ORDER BY y) FROM t",  # only mode(x ORDER BY x)
    "SELECT mode(x ORDER BY x DESC) FROM t",
])
def test_untranslatable_constructs_raise(sql):
    with pytest.raises(UnsupportedSQL):
        to_spark(sql)


def test_text_of_rewrites():
    assert to_spark(r"SELECT regexp_matches(x, '\bdef', 'i') FROM t") == r"SELECT x RLIKE '(?i)\\bdef' FROM t"
    assert to_spark("SELECT len(l) FROM t") == "SELECT SIZE(l) FROM t"
    assert to_spark("SELECT l[-1] FROM t") == "SELECT ELEMENT_AT(l, -1) FROM t"
    assert to_spark("SELECT first(x ORDER BY n DESC, x) FROM t") == \
        "SELECT MIN_BY(x, NAMED_STRUCT('k0', -(n), 'k1', x)) FROM t"


@pytest.mark.parametrize("text,expected", [
    ("8GB", "7630m"),  # 8e9 B / 2**20 = 7629.39 MiB, rounded up
    ("512MiB", "512m"),
    ("1.5 GiB", "1536m"),
])
def test_memory_limit_in_spark_units(text, expected):
    from distillwatch.engine.spark import _spark_size

    assert _spark_size(text) == expected
    with pytest.raises(ValueError):
        _spark_size("lots")


def test_duckdb_ordered_mode_breaks_ties_to_the_smallest_value():
    """Plain ``mode`` on DuckDB picks among tied values in an order that varies with threads (a
    campaign's evidence text changed between two scans of the same log); ``mode(x ORDER BY x)``
    gives the smallest. Expected values come from counting in Python."""
    import collections

    con = duckdb.connect()
    con.execute("SET threads=2")
    n, groups = 2_000_000, 1000  # several row groups, so two threads each count part of every group
    # row i: group i % 1000, value by k = i // 1000: 'a' when k % 5 == 0, else 'c' for odd k, 'b' for even k
    con.execute(f"CREATE TABLE t AS SELECT (i % {groups})::INT AS g, CASE WHEN (i // {groups}) % 5 = 0 THEN 'a' "
                f"WHEN (i // {groups}) % 2 = 1 THEN 'c' ELSE 'b' END AS x FROM range({n}) r(i)")
    per_group = collections.Counter("a" if k % 5 == 0 else ("c" if k % 2 else "b") for k in range(n // groups))
    top = max(per_group.values())
    assert sorted(v for v, c in per_group.items() if c == top) == ["b", "c"]  # a tie, and 'c' is met first
    expected = {g: "b" for g in range(groups)}
    for _ in range(3):
        got = dict(con.execute("SELECT g, mode(x ORDER BY x) FROM t GROUP BY g").fetchall())
        assert got == expected


def test_pipeline_sql_writes_mode_in_its_ordered_form():
    """Every ``mode(`` in the pipeline's SQL is ``mode(x ORDER BY x)`` (see the test above)."""
    import pathlib
    import re

    src = pathlib.Path(__file__).resolve().parents[1] / "src" / "distillwatch"
    bad = []
    for f in src.rglob("*.py"):
        if f.name == "spark_sql.py":  # the translator, which writes Spark's mode(x, true)
            continue
        for m in re.finditer(r"\bmode\(([^()]*)\)", f.read_text()):
            arg = m.group(1)
            if arg and not re.fullmatch(r"\s*([\w.]+)\s+ORDER BY\s+\1\s*", arg):
                bad.append(f"{f.name}: {m.group(0)}")
    assert not bad, bad
