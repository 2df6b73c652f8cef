"""Fixtures shared across the suite: small generated tables, tiny job specs.

Tests that must be fast use data made here, not the bank-marketing file.
"""

from __future__ import annotations

import os
from pathlib import Path

# The Ray test clusters (tests/automl_local/test_executors.py, test_ray_cluster.py) stay on
# 127.0.0.1: on Linux Ray otherwise binds its nodes to the machine's interface address. This
# switch (read when ray is first imported) makes Ray use the loopback address, as it does on
# macOS and Windows.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import pytest
from _testdata import TINY_JOB_YAML, make_frame


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    make_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_mltable(tmp_path: Path) -> Path:
    from automl_local.data import write_mltable

    return write_mltable(make_frame(), tmp_path / "train-mltable")


@pytest.fixture
def tiny_job_yaml(tmp_path: Path, tiny_mltable: Path) -> Path:
    """An Azure-valid AutoML YAML over a 400-row MLTable, 4 trials."""
    path = tmp_path / "job.yml"
    path.write_text(TINY_JOB_YAML.format(data=tiny_mltable.name, max_trials=4))
    return path
