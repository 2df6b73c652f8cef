"""Tabular inputs for AutoML jobs: readers, MLTable folders, known data sets, checks.

    from automl_local.data import read_table, bankmarketing_path
    df = read_table("data/bankmarketing")          # an MLTable folder
    df = read_table(bankmarketing_path())           # the verified reference CSV

No azure-ai-ml here: the engine reads data with pandas alone. Data asset
references (``azureml:name:version``) are turned into paths by the backend.
"""

from __future__ import annotations

from automl_local.data._checks import check_training_frame
from automl_local.data._fetch import (
    BANKMARKETING_URL,
    KNOWN_DATASETS,
    KnownDataset,
    bankmarketing_path,
    cache_dir,
    fetch,
    is_url,
    sha256_file,
)
from automl_local.data._mltable import (
    MLTABLE_FILE,
    MLTableSpec,
    load_mltable_spec,
    read_mltable,
    write_mltable,
)
from automl_local.data._readers import read_table
from automl_local.data._types import (
    COLUMN_PURPOSES,
    DROPPED_PURPOSES,
    coerce_column_types,
    normalize_column_purposes,
)

__all__ = [
    "BANKMARKETING_URL",
    "COLUMN_PURPOSES",
    "DROPPED_PURPOSES",
    "KNOWN_DATASETS",
    "MLTABLE_FILE",
    "KnownDataset",
    "MLTableSpec",
    "bankmarketing_path",
    "cache_dir",
    "check_training_frame",
    "coerce_column_types",
    "fetch",
    "is_url",
    "load_mltable_spec",
    "normalize_column_purposes",
    "read_mltable",
    "read_table",
    "sha256_file",
    "write_mltable",
]
