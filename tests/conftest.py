"""Shared pytest fixtures."""

from __future__ import annotations

import os
import shutil
import sys

import pytest


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores, quick-start settings) for the whole test run.

    Engines created while it is active join it instead of starting their own
    (:class:`distillwatch.engine.spark.SparkEngine`). Needs PySpark (the ``test`` extra) and a
    Java runtime; ``.ci/run`` installs Java when it is missing.
    """
    if shutil.which("java") is None:
        pytest.fail("the Spark tests need a Java runtime (17+): apt-get install openjdk-17-jre-headless")
    from pyspark.sql import SparkSession

    from distillwatch.engine.spark import DEFAULT_CONF, QUICK_CONF

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python workers need this venv's pyarrow
    b = SparkSession.builder.master("local[2]").appName("distillwatch-tests")
    for k, v in {**DEFAULT_CONF, **QUICK_CONF}.items():
        b = b.config(k, v)
    session = b.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
