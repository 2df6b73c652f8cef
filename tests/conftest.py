"""Fixtures shared across the suite: small generated tables, tiny job specs.

Tests that must be fast use data made here, not the bank-marketing file.
"""

from __future__ import annotations

from pathlib import Path

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
