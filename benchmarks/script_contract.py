"""What checking a scripted deployment's request against its document costs, per request.

The endpoint's front checks each ``/score`` body of a scripted deployment
against the script's (true) document before forwarding it (see
``service/_script_contract.py``). Measured here, in one process, for the
AutoML scoring-file body (``{"Inputs": {"data": rows}, "GlobalParameters": ...}``)
of the bank-marketing columns (20, from the reference CSV's header and first
row, read in place): the front's check (``json.loads`` + jsonschema-rs, its
fast path), the peer it replaced (``json.loads`` + the pure-Python
``jsonschema`` validator), and ``json.loads`` alone (the floor).

    python benchmarks/script_contract.py [--csv /work/shared/data/bankmarketing_train.csv]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import timeit
from pathlib import Path
from typing import Any

import pandas as pd

RESULTS = Path(__file__).with_name("results")


def _contract(sample: pd.DataFrame) -> Any:
    from automl_local.service import InputContract, true_document
    from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
    from inference_schema.parameter_types.standard_py_parameter_type import (
        StandardPythonParameterType,
    )
    from inference_schema.schema_decorators import input_schema
    from inference_schema.schema_util import get_input_schema

    @input_schema("GlobalParameters", StandardPythonParameterType({"method": "predict"}))
    @input_schema("Inputs", StandardPythonParameterType({"data": PandasParameterType(sample)}))
    def run(Inputs: Any, GlobalParameters: Any = None) -> Any:  # Azure's parameter names
        return Inputs

    doc = true_document(
        {"openapi": "3.0.3", "paths": {}, "components": {"schemas": {
            "ServiceInput": {**get_input_schema(run), "required": ["Inputs"]}}}}
    )  # fmt: skip
    return InputContract.from_document(doc)


def _best_us(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default="/work/shared/data/bankmarketing_train.csv")
    args = parser.parse_args()
    sample = pd.read_csv(args.csv, nrows=1).drop(columns=["y"], errors="ignore")
    contract = _contract(sample)
    from jsonschema import Draft7Validator

    peer = Draft7Validator(contract.json_schema)
    row = json.loads(sample.to_json(orient="records"))[0]
    when = time.strftime("%Y-%m-%d %H:%M")
    lines = [
        f"\n{platform.machine()}, Python {sys.version.split()[0]}, {when}; "
        f"{len(sample.columns)} columns; best of 5 timings, microseconds per request\n",
        "| rows | front's check (jsonschema-rs) | peer: jsonschema (Python) | json.loads alone |",
        "|---:|---:|---:|---:|",
    ]
    for rows in (1, 10, 100, 1000):
        body = json.dumps({"Inputs": {"data": [row] * rows},
                           "GlobalParameters": {"method": "predict"}}).encode()  # fmt: skip
        number = max(5, 2000 // rows)
        ours = _best_us(lambda b=body: contract.check(b, "application/json"), number)
        theirs = _best_us(lambda b=body: peer.is_valid(json.loads(b)), max(3, number // 20))
        floor = _best_us(lambda b=body: json.loads(b), number)
        lines.append(f"| {rows} | {ours:.0f} | {theirs:.0f} | {floor:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"script-contract-{time.strftime('%Y%m%d-%H%M')}.md").write_text(text)


if __name__ == "__main__":
    main()
