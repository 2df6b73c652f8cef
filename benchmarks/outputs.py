"""What the per-child outputs and charts cost a job: seconds and disk.

A 60-second bank-marketing job (the shared file, AUC_weighted, default settings),
run by the engine on this machine. Reported: the job's wall time, the seconds
spent writing outputs (``result["outputs"]["seconds"]``: evaluation artifacts for
every child, outputs/ and charts for the bounded set, the best child's generated
code, the trials chart, and their MLflow logging), the number of children, and
the disk used per child in the run's MLflow artifacts.

    python benchmarks/outputs.py              # 60 s, seed 0
    python benchmarks/outputs.py --budget 120 --onnx

Results: a markdown table on stdout and JSON in benchmarks/results/outputs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run(budget: float, seed: int, onnx: bool, images: Path | None = None) -> dict[str, Any]:
    from automl_local.data import bankmarketing_path
    from automl_local.engine import run_job
    from automl_local.settings import JobSettings, LimitSettings, TrainingSettings
    from automl_local.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="bench-outputs-") as tmp:
        ws = Workspace(Path(tmp) / "ws")
        s = JobSettings(
            name=f"bench_outputs_{seed}",
            target_column_name="y",
            training_data=str(bankmarketing_path()),
            primary_metric="AUC_weighted",
            limits=LimitSettings(timeout_minutes=budget / 60.0),
            training=TrainingSettings(enable_onnx_compatible_models=onnx),
            seed=seed,
        )
        t0 = time.monotonic()
        result = run_job(s, ws, emit=lambda e: None)
        wall = time.monotonic() - t0
        runs = [p for p in ws.artifact_root.rglob("artifacts")
                if p.parent.name.startswith(s.name)]  # fmt: skip
        sizes = {p.parent.name: _size(p) for p in runs}
        with_outputs = {f"{s.name}_{n}" for n in result["outputs"]["children_with_outputs"]}
        if images is not None:  # the README's pictures: the best child's ROC, the trials chart
            import shutil

            images.mkdir(parents=True, exist_ok=True)
            best_run = ws.artifact_root.rglob(f"{result['best_child_run_id']}/artifacts")
            best_dir = next(iter(best_run))
            shutil.copy(best_dir / "roc_curve.png", images / "bank_best_child_roc_curve.png")
            shutil.copy(best_dir / "lift_curve.png", images / "bank_best_child_lift_curve.png")
            parent = next(iter(ws.artifact_root.rglob(f"{s.name}/artifacts")))
            shutil.copy(parent / "trials_chart.png", images / "bank_trials_chart.png")
        heavy = [v for k, v in sizes.items() if k in with_outputs]
        light = [v for k, v in sizes.items() if k not in with_outputs and k != s.name]
        return {
            "budget_s": budget,
            "onnx": onnx,
            "wall_s": round(wall, 1),
            "outputs_s": result["outputs"]["seconds"],
            "of_which": result["outputs"]["timings"],
            "children": len(result["leaderboard"]),
            "children_with_outputs": len(with_outputs),
            "mb_per_child_with_outputs": round(sum(heavy) / max(1, len(heavy)) / 1e6, 2),
            "kb_per_other_child": round(sum(light) / max(1, len(light)) / 1e3, 1),
            "best": result["best_algorithm"],
            "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--onnx", action="store_true")
    parser.add_argument("--images", type=Path, help="copy two charts here (docs/images)")
    args = parser.parse_args()
    row = run(args.budget, args.seed, args.onnx, args.images)
    RESULTS.mkdir(exist_ok=True)
    name = "outputs_onnx.json" if args.onnx else "outputs.json"
    (RESULTS / name).write_text(json.dumps(row, indent=2))
    print("| " + " | ".join(row) + " |")
    print("|" + "---|" * len(row))
    print("| " + " | ".join(str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
