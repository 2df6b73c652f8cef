"""The bank-marketing flow, once per backend (see ``contract_scenario``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from contract_data import BANK_YAML, write_mltable_folder
from contract_scenario import run_bank_scenario


def test_bank_marketing_flow(contract_backend: tuple[Any, Any], bank_data: pd.DataFrame,
                             tmp_path: Path) -> None:
    client, probe = contract_backend
    data_folder = write_mltable_folder(bank_data, tmp_path / "bank-mltable")
    sample = bank_data.drop(columns="y").head(2)
    result = run_bank_scenario(client, probe, data_folder=data_folder, yaml_path=BANK_YAML,
                               sample=sample, workdir=tmp_path)
    assert result.steps == ["data", "job", "stream", "best_model", "register", "endpoint",
                            "deployment", "keys", "invoke", "logs", "regenerate", "delete"]
