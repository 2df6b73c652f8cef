"""Shared data of the contract suite: fixture paths and the small bank-marketing table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
AZURE_FIXTURES = FIXTURES / "azure"
BANK_YAML = FIXTURES / "bank-like" / "automl-job.yml"
PIPELINE_YAML = FIXTURES / "pipeline" / "pipeline.yml"


def bank_frame(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """A small bank-marketing-shaped table with a learnable ``y`` (yes/no) and some gaps."""
    rng = np.random.default_rng(seed)
    job = rng.choice(["admin.", "technician", "services", "management", "retired"], rows)
    marital = rng.choice(["married", "single", "divorced"], rows)
    age = rng.integers(18, 80, rows).astype(float)
    duration = rng.integers(10, 1500, rows).astype(float)
    balance = rng.normal(1000, 800, rows).round(2)
    score = duration / 400 + (job == "retired") * 1.5 + rng.normal(0, 0.4, rows)
    y = np.where(score > np.quantile(score, 0.7), "yes", "no")
    frame = pd.DataFrame({"age": age, "job": job, "marital": marital, "duration": duration,
                          "balance": balance, "y": y})
    frame.loc[rng.choice(rows, 8, replace=False), "age"] = np.nan
    frame.loc[rng.choice(rows, 5, replace=False), "job"] = None
    return frame


def write_mltable_folder(frame: pd.DataFrame, folder: Path) -> Path:
    """The frame as an MLTable folder (CSV + ``MLTable`` with ``read_delimited``)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "train.csv", index=False)
    (folder / "MLTable").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json\n"
        "type: mltable\n"
        "paths:\n  - file: ./train.csv\n"
        "transformations:\n"
        "  - read_delimited:\n"
        "      delimiter: ','\n"
        "      encoding: utf8\n"
        "      header: all_files_same_headers\n",
        encoding="utf-8",
    )
    return folder
