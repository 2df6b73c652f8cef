"""In-process one-row scoring of an AutoML model: the row path against the DataFrame path.

The peer is the server's own DataFrame path (``ParsedRequest.frame`` +
``Featurizer.transform`` + ``AutoMLModel.predict_proba``), which every model
without a row path still takes. Two measures, each the mean of ``--blocks``
interleaved blocks of ``--calls`` calls (interleaving spreads other sessions'
load evenly over both paths), in wall and CPU milliseconds per call:

* parse + featurize: ``parse_request`` of the model's serving example, then
  every family's feature matrix;
* ``score_body``: the whole request, JSON bytes in, JSON bytes out.

No server, no sockets: this isolates what ``service/_rows.py`` changes.
``benchmarks/scoring.py`` measures the endpoint end to end.

    python benchmarks/rowpath.py --model-dir DIR [--blocks 10] [--calls 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl_local.service import load_model, parse_request, score_body


def _block(call: Callable[[], Any], calls: int) -> tuple[float, float]:
    for _ in range(10):
        call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    return (
        (time.perf_counter() - wall) / calls * 1000.0,
        (time.process_time() - cpu) / calls * 1000.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    model = load_model(args.model_dir)
    path = model.row_path
    if path is None:
        raise SystemExit(f"{args.model_dir}: no row path (not an AutoML model, or not proven)")
    example = json.loads((args.model_dir / "serving_input_example.json").read_text())
    body = json.dumps({"input_data": example["dataframe_split"]}).encode()
    payload = json.loads(body)
    featurizers = model.estimator.featurizers

    def featurize_frame() -> Any:
        frame = parse_request(payload, model.schema).frame
        return [featurizers[family].transform(frame) for family in featurizers]

    def featurize_rows() -> Any:
        request = parse_request(payload, model.schema)
        return path.matrices(request.columns, request.rows)

    def score(row_path: Any) -> Callable[[], Any]:
        def call() -> Any:
            model.row_path = row_path
            return score_body(body, model)

        return call

    cases = {
        ("parse + featurize", "DataFrame path"): featurize_frame,
        ("parse + featurize", "row path"): featurize_rows,
        ("score_body", "DataFrame path"): score(None),
        ("score_body", "row path"): score(path),
    }
    times: dict[tuple[str, str], list[tuple[float, float]]] = {k: [] for k in cases}
    for _ in range(args.blocks):
        for key, call in cases.items():
            times[key].append(_block(call, args.calls))
    model.row_path = path
    print(f"model {args.model_dir}, {args.blocks} x {args.calls} calls per row\n")
    print("| measure | path | wall ms/call | CPU ms/call |\n|---|---|---:|---:|")
    for (measure, which), blocks in times.items():
        wall = statistics.mean(w for w, _ in blocks)
        cpu = statistics.mean(c for _, c in blocks)
        print(f"| {measure} | {which} | {wall:.3f} | {cpu:.3f} |")


if __name__ == "__main__":
    main()
