"""The pipeline flow, once per backend (see ``contract_scenario.run_pipeline_scenario``).

A test of its own rather than more steps of the bank flow: locally it runs a
real pipeline (a command node, then an AutoML node of two trials), which
costs about as much as the whole online flow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from contract_data import PIPELINE_YAML, write_mltable_folder
from contract_scenario import run_pipeline_scenario


def test_pipeline_schedule_and_publication_flow(contract_backend: tuple[Any, Any],
                                                bank_data: pd.DataFrame, tmp_path: Path) -> None:
    client, probe = contract_backend
    data_folder = write_mltable_folder(bank_data, tmp_path / "raw-mltable")
    result = run_pipeline_scenario(client, probe, yaml_path=PIPELINE_YAML,
                                   data_folder=data_folder)
    assert result.steps == ["pipeline", "stream", "children", "schedules", "trigger",
                            "refuse_delete", "disable", "delete_schedules", "publish", "invoke",
                            "delete_endpoint"]
    assert len(set(result.runs)) == 2 and result.job_name not in result.runs

