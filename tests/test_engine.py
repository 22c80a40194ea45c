"""Engine contract: named SQL steps, Arrow in/out, and vectorised Python over batches."""

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from distillwatch.engine import get_engine
from distillwatch.errors import EngineError

SCHEMA = pa.schema([("i", pa.int64()), ("n", pa.int64())])


def _lengths(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.record_batch([batch.column(0), pc.utf8_length(batch.column(1)).cast(pa.int64())], schema=SCHEMA)


def test_map_batches_streams_every_row_once():
    eng = get_engine("duckdb")
    try:
        eng.run("setup", "CREATE TABLE t AS SELECT range AS i, 'a' || range AS s FROM range(12345)")
        eng.map_batches("lengths", "m", "SELECT i, s FROM t", _lengths, SCHEMA, batch_rows=1000)
        got = eng.table("SELECT count(*) AS c, count(DISTINCT i) AS d, sum(n)::BIGINT AS total FROM m").to_pylist()[0]
        # 'a' + decimal digits of i, for i in 0..12344: 1 char + digits
        expected = sum(1 + len(str(i)) for i in range(12345))
        assert got == {"c": 12345, "d": 12345, "total": expected}
        assert "lengths" in eng.timings
    finally:
        eng.close()


def test_map_batches_rejects_wrong_schema():
    eng = get_engine("duckdb")
    try:
        eng.run("setup", "CREATE TABLE t AS SELECT range AS i, 'x' AS s FROM range(10)")
        wrong = pa.schema([("i", pa.int64())])
        with pytest.raises(EngineError, match="expected"):
            eng.map_batches("bad", "m", "SELECT i, s FROM t", _lengths, wrong)
    finally:
        eng.close()


def test_get_engine_rejects_unknown_names_and_spark_options_for_duckdb():
    with pytest.raises(ValueError, match="available: duckdb, spark"):
        get_engine("postgres")
    with pytest.raises(ValueError, match="master apply only to the spark engine"):
        get_engine("duckdb", master="spark://h:7077")
    eng = get_engine("duckdb", master=None, staging_dir=None)  # unset Spark options are ignored
    try:
        assert eng.dialect == "duckdb" and not eng.has_table("t")
        eng.run("setup", "CREATE TABLE t AS SELECT 1 AS x")
        assert eng.has_table("t")
    finally:
        eng.close()
