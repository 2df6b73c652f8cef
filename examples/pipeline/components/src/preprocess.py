"""Preprocess step of the bank-marketing pipeline: read an MLTable, write an MLTable.

Runs on Azure ML compute (reads with the ``mltable`` package) and under
automl-local (reads with ``automl_local.data``). The output folder holds the
data as CSV and an MLTable file describing it, which is what the AutoML step
takes as ``training_data``.
"""

import argparse
from pathlib import Path

import pandas as pd
import yaml


def read_table(path: str) -> pd.DataFrame:
    try:
        import mltable  # Azure ML compute
    except ImportError:  # automl-local
        from automl_local.data import read_table as local_read

        return local_read(path)
    return mltable.load(path).to_pandas_dataframe()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train_data", required=True)
    parser.add_argument("--preprocessed_train_data", required=True)
    parser.add_argument("--drop_columns", default="")
    args = parser.parse_args()

    frame = read_table(args.train_data)
    dropped = [c.strip() for c in args.drop_columns.split(",") if c.strip()]
    frame = frame.drop(columns=dropped).drop_duplicates()
    print(f"read {args.train_data}: {len(frame)} rows, dropped columns {dropped or 'none'}")

    out = Path(args.preprocessed_train_data)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "train.csv", index=False)
    mltable = {
        "paths": [{"file": "./train.csv"}],
        "transformations": [
            {
                "read_delimited": {
                    "delimiter": ",",
                    "encoding": "utf8",
                    "header": "all_files_same_headers",
                }
            }
        ],
    }
    (out / "MLTable").write_text(yaml.safe_dump(mltable, sort_keys=False))
    print(f"wrote {out / 'train.csv'} and its MLTable file")


if __name__ == "__main__":
    main()
