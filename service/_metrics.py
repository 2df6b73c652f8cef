"""``/metrics``: request counts and latency histograms in the Prometheus text format.

Each worker process counts its own requests. So that ``/metrics`` answers for
the whole server whichever worker takes the call, every worker saves a
snapshot of its counters to ``<share_dir>/<pid>-<start>.json`` (at most once
a second, from a background task, and on each ``/metrics`` call), and the
answering worker sums all snapshots. Files of dead workers stay, so totals
never go down while the server runs; ``python -m automl_local.service`` empties the folder
at start. Other workers' numbers can lag by up to a second.

Written by hand (the format is tiny) to avoid a dependency.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["BUCKETS", "Metrics", "render"]

#: Latency buckets in seconds; scoring is expected in the low milliseconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PREFIX = "automl_endpoint"


class Metrics:
    """This worker's counters, and the shared folder they are published to."""

    def __init__(self, endpoint: str, share_dir: str | os.PathLike[str] | None = None) -> None:
        """``share_dir`` is ``<endpoint folder>/.service/metrics`` (None: this worker only)."""
        self.endpoint = endpoint
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = defaultdict(int)
        self._hist: dict[str, list[float]] = {}  # deployment -> bucket counts + [sum, count]
        self._models: dict[str, str] = {}
        self._dirty = True
        self.share_dir = Path(share_dir) if share_dir is not None else None
        self._file = (
            self.share_dir / f"{os.getpid()}-{time.time_ns()}.json" if self.share_dir else None
        )

    def set_model(self, deployment: str, model: str) -> None:
        with self._lock:
            self._models[deployment] = model
            self._dirty = True

    def observe(self, deployment: str, status: int, seconds: float) -> None:
        """Count one scoring request (``deployment`` is "" when none was chosen)."""
        with self._lock:
            self._requests[(deployment, str(status))] += 1
            if deployment:
                hist = self._hist.get(deployment)
                if hist is None:
                    hist = self._hist[deployment] = [0.0] * (len(BUCKETS) + 2)
                for i, bound in enumerate(BUCKETS):
                    if seconds <= bound:
                        hist[i] += 1
                        break
                hist[-2] += seconds
                hist[-1] += 1
            self._dirty = True

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": [[d, s, n] for (d, s), n in self._requests.items()],
                "histograms": {d: list(h) for d, h in self._hist.items()},
                "models": dict(self._models),
            }

    def publish(self, force: bool = False) -> None:
        """Write this worker's snapshot to the share folder if it changed."""
        if self._file is None or not (self._dirty or force):
            return
        # Never re-create a deleted endpoint folder: the share folder's grandparent must exist.
        if not self._file.parent.parent.parent.is_dir():
            return
        self._dirty = False
        data = json.dumps(self.snapshot()).encode("utf-8")
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self._file)

    def collect(self) -> list[dict[str, Any]]:
        """All workers' snapshots (this one fresh, the others as last published)."""
        if self._file is None:
            return [self.snapshot()]
        self.publish(force=True)
        snapshots = []
        for path in sorted(self._file.parent.glob("*.json")):
            try:
                snapshots.append(json.loads(path.read_bytes()))
            except (OSError, ValueError):  # being replaced right now; next scrape has it
                continue
        return snapshots

    def render(self) -> str:
        return render(self.endpoint, self.collect())


def _labels(**labels: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(endpoint: str, snapshots: list[dict[str, Any]]) -> str:
    """Sum worker snapshots into Prometheus text exposition format 0.0.4."""
    requests: dict[tuple[str, str], int] = defaultdict(int)
    hists: dict[str, list[float]] = {}
    models: dict[str, str] = {}
    for snap in snapshots:
        for deployment, status, count in snap.get("requests", []):
            requests[(deployment, status)] += int(count)
        for deployment, values in snap.get("histograms", {}).items():
            total = hists.setdefault(deployment, [0.0] * len(values))
            for i, v in enumerate(values):
                total[i] += v
        models.update(snap.get("models", {}))
    out = [
        f"# HELP {_PREFIX}_requests_total Scoring requests by deployment and HTTP status.",
        f"# TYPE {_PREFIX}_requests_total counter",
    ]
    for (deployment, status), count in sorted(requests.items()):
        labels = _labels(endpoint=endpoint, deployment=deployment, status_code=status)
        out.append(f"{_PREFIX}_requests_total{labels} {count}")
    name = f"{_PREFIX}_request_duration_seconds"
    out += [
        f"# HELP {name} Scoring request latency inside the server, by deployment.",
        f"# TYPE {name} histogram",
    ]
    for deployment, hist in sorted(hists.items()):
        cumulative = 0.0
        for bound, count in zip(BUCKETS, hist, strict=False):
            cumulative += count
            le = _labels(endpoint=endpoint, deployment=deployment, le=_number(bound))
            out.append(f"{name}_bucket{le} {_number(cumulative)}")
        inf = _labels(endpoint=endpoint, deployment=deployment, le="+Inf")
        out.append(f"{name}_bucket{inf} {_number(hist[-1])}")
        base = _labels(endpoint=endpoint, deployment=deployment)
        out.append(f"{name}_sum{base} {_number(hist[-2])}")
        out.append(f"{name}_count{base} {_number(hist[-1])}")
    out += [
        f"# HELP {_PREFIX}_model_info The model each deployment serves.",
        f"# TYPE {_PREFIX}_model_info gauge",
    ]
    for deployment, model in sorted(models.items()):
        labels = _labels(endpoint=endpoint, deployment=deployment, model=model)
        out.append(f"{_PREFIX}_model_info{labels} 1")
    return "\n".join(out) + "\n"
