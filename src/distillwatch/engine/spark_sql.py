"""DuckDB SQL -> Spark SQL: sqlglot's transpiler plus a small table of rewrites it gets wrong.

Every pipeline step is written once, in DuckDB's dialect. :func:`to_spark` parses a statement with
sqlglot (the transpiler Splink uses for the same job, https://github.com/tobymao/sqlglot), applies
:data:`REWRITES` to the syntax tree, and prints Spark SQL. Each rewrite fixes one construct whose
meaning differs between the engines, or that sqlglot (30.x) translates wrongly:

- ``regexp_matches(x, p, 'i')``: sqlglot drops the flag -> ``x RLIKE '(?i)p'``.
- ``len(list)``: sqlglot reads it as string ``LENGTH`` -> ``SIZE(list)``.
- ``l[k]`` (1-based, negative counts from the end): sqlglot shifts to 0-based and turns ``l[-1]``
  into ``l[-2]`` -> ``element_at(l, k)``, which is 1-based with negatives from the end, as in DuckDB.
- ``l[a:b]`` and ``l[-k:]`` (inclusive slices; not Spark syntax) -> ``slice(l, a, b - a + 1)`` and
  ``slice(l, greatest(size(l) - k + 1, 1), k)`` (the whole list when it is shorter than ``k``).
- ``list_transform(l, lambda x, i: ...)``: DuckDB's ``i`` is 1-based, Spark's 0-based -> ``i`` becomes ``(i + 1)``.
- ``epoch(ts)``: sqlglot writes ``UNIX_TIMESTAMP`` (whole seconds) -> ``CAST(unix_micros(ts) AS DOUBLE) / 1000000``
  (DOUBLE seconds with the microseconds, as DuckDB); ``epoch(a - b)`` -> the difference of ``unix_micros``.
- ``CAST(x / y AS BIGINT)``: DuckDB's ``/`` gives DOUBLE and DOUBLE -> integer casts round half to even;
  Spark truncates -> ``CAST(bround(x / y) AS BIGINT)``.
- ``first(x ORDER BY a DESC, b)`` (not Spark syntax) -> ``min_by(x, named_struct('k0', -(a), 'k1', b))``;
  DESC keys must be numeric.
- ``list(DISTINCT x ORDER BY x)``: sqlglot loses the order -> ``array_sort(collect_set(x))``.
- ``mode(x ORDER BY x)`` (DuckDB: the smallest tied value, because ties go to the first value met
  and the input is sorted) -> ``mode(x, true)`` (Spark: the smallest tied value). Plain ``mode(x)``
  maps the same way, but on DuckDB it breaks ties in no documented order (it varies run to run with
  threads), so the pipeline's SQL always writes the ``ORDER BY`` form.
- ``CREATE [OR REPLACE] TABLE t AS q`` / ``DROP TABLE t`` are run by
  :class:`distillwatch.engine.spark.SparkEngine` as materialised temporary views.

Known differences not rewritten: regular expressions run on RE2 in DuckDB and on java.util.regex
in Spark. For the ASCII lexicons in :mod:`distillwatch.signals.request` the two agree on ASCII
text; on other scripts they can differ: Java's ``\\b`` counts Unicode letters as word characters
(RE2's is ASCII-only), and Java's ``(?i)`` folds ASCII case only (RE2 folds Unicode case).

:func:`to_spark` raises :class:`UnsupportedSQL` for constructs with no faithful rewrite here: a
slice with non-literal bounds, ``//`` (DOUBLE division but integer truncation in DuckDB, which
the tree alone cannot tell apart), regex flags other than ``i``, other ordered list aggregates. A
non-numeric DESC key in ``first(... ORDER BY)`` is not detected here; Spark's analyser rejects it.
"""

from __future__ import annotations

from typing import Callable

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB


class UnsupportedSQL(ValueError):
    """A DuckDB construct that :func:`to_spark` cannot translate faithfully."""


class DuckDBSource(DuckDB):
    """sqlglot's DuckDB dialect, reading list indexes as written (1-based) and ``len`` as list size.

    sqlglot normally shifts indexes to 0-based while parsing and gets negative indexes wrong;
    with ``INDEX_OFFSET = 0`` the tree keeps DuckDB's numbers and :func:`_bracket` rewrites them.
    """

    INDEX_OFFSET = 0

    class Parser(DuckDB.Parser):
        FUNCTIONS = {**DuckDB.Parser.FUNCTIONS,
                     "LEN": lambda args: exp.ArraySize(this=args[0])}


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _int(node: exp.Expression) -> int | None:
    """The value of an integer literal (``3`` or ``-3``), else None."""
    if isinstance(node, exp.Literal) and not node.is_string:
        return int(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -int(node.this.this)
    return None


def _regexp_flags(node: exp.Expression) -> exp.Expression:
    """``regexp_matches(x, p, 'i')`` -> ``x RLIKE '(?i)p'``."""
    if not isinstance(node, exp.RegexpLike) or node.args.get("flag") is None:
        return node
    flag = node.args["flag"]
    if not (isinstance(flag, exp.Literal) and flag.is_string and set(flag.this) <= {"i"}):
        raise UnsupportedSQL(f"regexp flags {flag.sql()} (only 'i' is translated)")
    pat = node.expression
    if flag.this and isinstance(pat, exp.Literal) and pat.is_string:
        pat = exp.Literal.string("(?i)" + pat.this)
    elif flag.this:
        pat = exp.DPipe(this=exp.Literal.string("(?i)"), expression=pat)
    return exp.RegexpLike(this=node.this, expression=pat)


def _bracket(node: exp.Expression) -> exp.Expression:
    """1-based list index / slice -> ``element_at`` / ``slice``."""
    if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
        return node
    arr, idx = node.this, node.expressions[0]
    if isinstance(idx, exp.Slice):
        lo, hi = idx.this, idx.expression
        a = _int(lo) if lo is not None else 1
        b = _int(hi) if hi is not None else None
        if a is None or (hi is not None and b is None):
            raise UnsupportedSQL(f"list slice with non-literal bounds: {node.sql('duckdb')}")
        if a > 0 and b is not None and b > 0:
            return _fn("slice", arr, exp.Literal.number(a), exp.Literal.number(max(b - a + 1, 0)))
        if a < 0 and b is None:
            k = -a
            start = exp.Greatest(this=exp.Add(this=exp.Sub(this=exp.ArraySize(this=arr.copy()),
                                                           expression=exp.Literal.number(k)),
                                              expression=exp.Literal.number(1)),
                                 expressions=[exp.Literal.number(1)])
            return _fn("slice", arr, start, exp.Literal.number(k))
        if a > 0 and b is None:
            return _fn("slice", arr, exp.Literal.number(a), exp.ArraySize(this=arr.copy()))
        raise UnsupportedSQL(f"list slice {node.sql('duckdb')}")
    if isinstance(idx, exp.Literal) and idx.is_string:
        return node  # map / struct access by name
    return _fn("element_at", arr, idx)


def _lambda_index(node: exp.Expression) -> exp.Expression:
    """``list_transform(l, lambda x, i: f(i))``: DuckDB's ``i`` is 1-based, Spark's 0-based."""
    if not isinstance(node, (exp.Transform, exp.ArrayFilter)):
        return node
    lam = node.expression
    if not isinstance(lam, exp.Lambda) or len(lam.expressions) != 2:
        return node
    name = lam.expressions[1].name

    def shift(n: exp.Expression) -> exp.Expression:
        if isinstance(n, (exp.Column, exp.Identifier)) and n.name == name and not isinstance(n.parent, exp.Column):
            return exp.Paren(this=exp.Add(this=exp.to_identifier(name), expression=exp.Literal.number(1)))
        return n

    body = lam.this.transform(shift, copy=True) if not _is_name(lam.this, name) else shift(lam.this)
    return node.__class__(this=node.this, expression=exp.Lambda(this=body, expressions=lam.expressions))


def _is_name(n: exp.Expression, name: str) -> bool:
    return isinstance(n, (exp.Column, exp.Identifier)) and n.name == name


def _micros(x: exp.Expression) -> exp.Expression:
    return _fn("unix_micros", x)


def _epoch(node: exp.Expression) -> exp.Expression:
    """``epoch(ts)`` -> DOUBLE seconds with microseconds; ``epoch(a - b)`` -> interval seconds."""
    if not isinstance(node, exp.TimeToUnix):
        return node
    arg = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
    if isinstance(arg, exp.Sub):
        micros = exp.Paren(this=exp.Sub(this=_micros(arg.this), expression=_micros(arg.expression)))
    else:
        micros = _micros(arg)
    return exp.Paren(this=exp.Div(this=exp.Cast(this=micros, to=exp.DataType.build("DOUBLE")),
                                  expression=exp.Literal.number(1000000)))


_INT_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT}


def _cast_div(node: exp.Expression) -> exp.Expression:
    """``CAST(x / y AS BIGINT)``: DuckDB rounds half to even, Spark truncates; make Spark round (``bround``)."""
    if not isinstance(node, exp.Cast) or node.to.this not in _INT_TYPES:
        return node
    inner = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
    if not isinstance(inner, exp.Div):
        return node
    return exp.Cast(this=_fn("bround", inner), to=node.to)


def _int_div(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.IntDiv):
        raise UnsupportedSQL("'//' means division on DOUBLE and truncation on integers in DuckDB; write '/' "
                             "or trunc(...) explicitly")
    return node


def _first_ordered(node: exp.Expression) -> exp.Expression:
    """``first(x ORDER BY a DESC, b)`` -> ``min_by(x, named_struct('k0', -a, 'k1', b))``."""
    if not isinstance(node, exp.First) or not isinstance(node.this, exp.Order):
        return node
    order = node.this
    keys: list[exp.Expression] = []
    for i, o in enumerate(order.expressions):
        key = o.this.copy()
        if o.args.get("desc"):
            key = exp.Neg(this=exp.Paren(this=key))
        keys += [exp.Literal.string(f"k{i}"), key]
    return _fn("min_by", order.this, _fn("named_struct", *keys))


def _list_distinct_sorted(node: exp.Expression) -> exp.Expression:
    """``list(DISTINCT x ORDER BY x)`` -> ``array_sort(collect_set(x))``."""
    if not isinstance(node, exp.ArrayAgg) or not isinstance(node.this, exp.Order):
        return node
    order, inner = node.this, node.this.this
    if not isinstance(inner, exp.Distinct) or len(inner.expressions) != 1 or len(order.expressions) != 1:
        raise UnsupportedSQL(f"ordered list aggregate {node.sql('duckdb')} (only list(DISTINCT x ORDER BY x))")
    x, o = inner.expressions[0], order.expressions[0]
    if o.this != x or o.args.get("desc"):
        raise UnsupportedSQL(f"ordered list aggregate {node.sql('duckdb')} (only list(DISTINCT x ORDER BY x))")
    return _fn("array_sort", _fn("collect_set", x.copy()))


def _mode(node: exp.Expression) -> exp.Expression:
    """``mode(x ORDER BY x)`` (and plain ``mode(x)``) -> ``mode(x, true)``: the smallest tied value."""
    if not isinstance(node, exp.Mode) or node.expression is not None:
        return node
    x = node.this
    if isinstance(x, exp.Order):
        keys = x.expressions
        if len(keys) != 1 or keys[0].this != x.this or keys[0].args.get("desc"):
            raise UnsupportedSQL(f"ordered mode {node.sql('duckdb')} (only mode(x ORDER BY x))")
        x = x.this
    return _fn("mode", x.copy(), exp.true())


REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    _regexp_flags, _bracket, _lambda_index, _epoch, _cast_div, _int_div, _first_ordered, _list_distinct_sorted,
    _mode)
"""The rewrite table, applied in this order to every node of a parsed DuckDB statement (see module doc)."""


def rewrite(tree: exp.Expression) -> exp.Expression:
    """Apply :data:`REWRITES` to a parsed DuckDB statement; return the Spark-ready tree."""
    for rule in REWRITES:
        tree = tree.transform(rule, copy=False)
    return tree


def parse(sql: str) -> list[exp.Expression]:
    """Parse one or more DuckDB statements (``;``-separated) with :class:`DuckDBSource`.

    Raises:
        sqlglot.errors.ParseError: the SQL is not valid DuckDB SQL as sqlglot reads it.
    """
    return [s for s in sqlglot.parse(sql, read=DuckDBSource) if s is not None]


def to_spark(sql: str) -> str:
    """Translate one DuckDB statement (query or DDL) to Spark SQL.

    Raises:
        UnsupportedSQL: a construct with no faithful translation (see module doc).
        ValueError: ``sql`` holds more than one statement.
    """
    trees = parse(sql)
    if len(trees) != 1:
        raise ValueError(f"expected one statement, got {len(trees)}")
    return generate(rewrite(trees[0]))


def generate(tree: exp.Expression) -> str:
    """Print a rewritten tree as Spark SQL (sqlglot's ``spark`` dialect)."""
    return tree.sql(dialect="spark")
