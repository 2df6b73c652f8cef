"""``automl-local job``: create, follow and inspect jobs, as ``az ml job`` does."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

import click

from automl_local.cli._common import (
    backend_options,
    echo_json,
    get_ml_client,
    load_yaml_entity,
    output_option,
    parse_set_options,
)

__all__ = ["job"]


@click.group("job")
def job() -> None:
    """Create, stream, show, list, cancel, resume and download jobs (az ml job)."""


def _load(file: str, overrides: dict[str, Any]) -> Any:
    from azure.ai.ml import load_job

    return load_yaml_entity(load_job, file, overrides)


@job.command("create")
@click.option(
    "--file", "-f", "file", required=True, help="Job YAML (type: automl, command or pipeline)."
)
@click.option(
    "--name", "-n", default=None, help="Job name (default: generated, or from the YAML)."
)
@click.option(
    "--set", "set_", multiple=True, help="Override a YAML field: --set limits.max_trials=5."
)
@click.option("--experiment-name", default=None)
@click.option("--stream", is_flag=True, help="Follow the job until it ends.")
@click.option("--seed", type=int, default=None, help="Local only: seed of the search (default 0).")
@backend_options
@output_option
def create(
    file: str,
    name: str | None,
    set_: tuple[str, ...],
    experiment_name: str | None,
    stream: bool,
    seed: int | None,
    output: str,
) -> None:
    """Submit a job from YAML."""
    overrides = parse_set_options(set_)
    if name:
        overrides["name"] = name
    entity = _load(file, overrides)
    ml = get_ml_client()
    kwargs: dict[str, Any] = {"experiment_name": experiment_name}
    if seed is not None:  # the Azure backend refuses it: Azure AutoML takes no seed
        kwargs["seed"] = seed
    returned = ml.jobs.create_or_update(entity, **kwargs)
    _after_submit(ml, returned, stream, output)


@job.command("resume")
@click.option("--name", "-n", required=True)
@click.option("--stream", is_flag=True, help="Follow the job until it ends.")
@backend_options
@output_option
def resume(name: str, stream: bool, output: str) -> None:
    """Continue a killed, failed or canceled job from its finished trials (local only)."""
    ml = get_ml_client()
    _after_submit(ml, ml.jobs.resume(name), stream, output)


def _after_submit(ml: Any, returned: Any, stream: bool, output: str) -> None:
    summary = ml.jobs.summary(returned.name)
    for warning in summary["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    if not stream:
        if output == "json":
            echo_json(summary)
        else:
            click.echo(f"Submitted job {returned.name} ({returned.status}).")
            click.echo(f"Follow it with: automl-local job stream --name {returned.name}")
        return
    _stream(ml, returned.name, output)


def _stream(ml: Any, name: str, output: str) -> None:
    if ml.jobs.get(name).type in ("pipeline", "command"):  # their own log / node lines
        ml.jobs.stream(name)
        return
    # A stream is for people unless the script asked for JSON lines with an explicit -o json.
    json_lines = output == "json" and bool(click.get_current_context().meta.get("output_explicit"))
    view = _ProgressView(json_lines=json_lines)
    failed = None
    try:
        ml.jobs.stream(name, printer=view)
    except Exception as exc:  # JobFailedError: show the summary, then exit 2
        failed = exc
    view.close()
    if not json_lines:
        _print_final(ml.jobs.summary(name))
    if failed is not None:
        raise failed


@job.command("stream")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def stream_cmd(name: str, output: str) -> None:
    """Follow a job's progress until it ends."""
    _stream(get_ml_client(), name, output)


@job.command("show")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def show(name: str, output: str) -> None:
    """The job, as ``az ml job show`` prints it; ``-o table``: status, best model, scores."""
    ml = get_ml_client()
    if output == "json":
        echo_json(ml.jobs.get(name))
        return
    summary = ml.jobs.summary(name)
    pipeline = summary.get("type") == "pipeline"
    for key in (
        "name",
        "type",
        "status",
        "experiment_name",
        "primary_metric",
        "best_child_run_id",
        "best_algorithm",
        "best_score",
        "error",
        "registered_model",
        "outputs",
        "log",
        "studio_url",
    ):
        if summary.get(key) not in (None, "", {}):
            click.echo(f"{key:<18} {summary[key]}")
    if pipeline:
        from automl_local.cli._pipeline import echo_pipeline_nodes

        echo_pipeline_nodes(ml, name)
    elif summary.get("leaderboard"):
        _print_final(summary, header=False)


@job.command("list")
@click.option("--max-results", "-r", type=int, default=50, show_default=True)
@backend_options
@output_option
def list_cmd(max_results: int, output: str) -> None:
    """Jobs of the workspace, newest first."""
    ml = get_ml_client()
    rows = []
    for i, entity in enumerate(ml.jobs.list()):
        if i >= max_results:
            break
        rows.append(ml.jobs.summary(entity.name))
    if output == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo("No jobs yet. Submit one: automl-local job create --file job.yml")
        return
    click.echo(f"{'NAME':<34} {'TYPE':<9} {'STATUS':<10} {'BEST':<20} SCORE")
    for r in rows:
        score = r.get("best_score")
        shown = f"{score:.4f}" if isinstance(score, float) else ""
        click.echo(
            f"{r['name']:<34} {r.get('type', ''):<9} {r.get('status', ''):<10} "
            f"{(r.get('best_algorithm') or ''):<20} {shown}"
        )


@job.command("cancel")
@click.option("--name", "-n", required=True)
@backend_options
def cancel(name: str) -> None:
    """Cancel a running job (finished trials are kept for a resume)."""
    ml = get_ml_client()
    ml.jobs.begin_cancel(name).result()
    click.echo(f"Job {name}: {ml.jobs.get(name).status}")


@job.command("download")
@click.option("--name", "-n", required=True)
@click.option("--output-name", default=None, help="A named output, e.g. best_model.")
@click.option("--download-path", "-p", default=".", show_default=True)
@click.option("--all", "all_", is_flag=True, help="Every output and artifact.")
@backend_options
def download(name: str, output_name: str | None, download_path: str, all_: bool) -> None:
    """Download a job's outputs (named-outputs/<name>/) or artifacts."""
    ml = get_ml_client()
    ml.jobs.download(name, download_path=download_path, output_name=output_name, all=all_)
    where = (
        f"{download_path}/named-outputs/{output_name}"
        if output_name
        else f"{download_path}/artifacts"
    )
    click.echo(f"Downloaded to {where}")


class _ProgressView:
    """Live progress: one status line on a terminal, one line per trial otherwise."""

    def __init__(self, *, json_lines: bool) -> None:
        self.json_lines = json_lines
        self.tty = sys.stderr.isatty()
        self.trials = 0
        self.best = float("nan")
        self.started = time.time()
        self.budget: float | None = None
        self.max_trials: int | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        if self.json_lines:
            click.echo(json.dumps(event, default=str))
            return
        kind = event.get("event")
        if kind == "phase":
            self.budget = event.get("budget", self.budget)
            self.max_trials = event.get("max_trials", self.max_trials)
            ray = event.get("executor") == "ray"
            on = f" (trials on the Ray cluster at {event.get('address')})" if ray else ""
            self._line(f"== {event['phase']}{on}")
        elif kind == "guardrails":
            from automl_local.guardrails import Guardrail, format_guardrails

            self._line(
                "Data guardrails:\n"
                + format_guardrails([Guardrail(**g) for g in event["guardrails"]])
            )
        elif kind == "featurization":
            skipped = event.get("skipped_algorithms") or {}
            self._line(f"Validation: {event['validation']}")
            self._line(f"Algorithms: {', '.join(event['algorithms'])}")
            for algo, why in skipped.items():
                self._line(f"  skipped {algo}: {why}")
        elif kind == "trial":
            self.trials += 1
            self.best = event.get("best", self.best)
            score = event.get("score")
            shown = (
                f"{score:.4f}"
                if isinstance(score, float) and not math.isnan(score)
                else event["status"]
            )
            detail = f"  ({event['error'][:80]})" if event.get("error") else ""
            line = (
                f"trial {event['trial']:>3}  {event['algorithm']:<22} {shown:<10} "
                f"{event['seconds']:>7.1f}s{detail}"
            )
            self._progress(line, event)
        elif kind == "status":
            self._line(
                f"Status: {event['status']}"
                + (f" - {event['error']}" if event.get("error") else "")
            )

    def _progress(self, line: str, event: dict[str, Any]) -> None:
        elapsed = event.get("elapsed", time.time() - self.started)
        budget = event.get("budget") or self.budget
        left = f"{max(0.0, budget - elapsed):6.0f}s left" if budget and budget < 86_400 else ""
        total = f"/{self.max_trials}" if self.max_trials and self.max_trials < 1000 else ""
        bar = self._bar(elapsed, budget)
        status = f"{bar} trials {self.trials}{total}  best {self.best:.4f}  {left}"
        if self.tty:
            click.echo("\r\033[K" + line, err=True)
            click.echo(status, err=True, nl=False)
        else:
            click.echo(f"{line}   | best {self.best:.4f} {left}")

    @staticmethod
    def _bar(elapsed: float, budget: float | None, width: int = 24) -> str:
        if not budget or budget >= 86_400:
            return ""
        done = min(width, int(width * elapsed / budget))
        return "[" + "#" * done + "." * (width - done) + "]"

    def _line(self, text: str) -> None:
        if self.tty:
            click.echo("\r\033[K", err=True, nl=False)
        click.echo(text)

    def close(self) -> None:
        if self.tty and not self.json_lines:
            click.echo("\r\033[K", err=True, nl=False)


def _print_final(result: dict[str, Any], header: bool = True) -> None:
    """The leaderboard, top features and registered model of a finished AutoML job."""
    if not result.get("leaderboard"):
        return
    name = result["name"]
    if header:
        click.echo(
            f"\nJob {name} {result['status']} in {result.get('duration_seconds', 0):.0f}s "
            f"(stopped by {result.get('stop_reason')})"
        )
    click.echo(f"\nLeaderboard ({result['primary_metric']}, {result['validation']}):")
    rows = result.get("leaderboard", [])[:10]
    # Trials on a Ray cluster: say on which node each ran (short node ids, as `ray status`).
    nodes = any(row.get("node") not in (None, "", "local") for row in rows)
    node_head = f" {'NODE':<12}" if nodes else ""
    click.echo(
        f"  {'RANK':<5} {'RUN':<38} {'ALGORITHM':<22} {'SCORE':<9} {'SECONDS':>8}{node_head}"
    )
    for row in rows:
        score = row["score"]
        shown = (
            f"{score:.4f}" if isinstance(score, float) and not math.isnan(score) else row["status"]
        )
        node = f" {str(row.get('node') or '-')[:12]:<12}" if nodes else ""
        click.echo(
            f"  {row['rank']:<5} {row['run_id']:<38} {row['algorithm']:<22} {shown:<9} "
            f"{row['seconds']:>8.1f}{node}"
        )
    importance = result.get("feature_importance") or []
    if importance:
        click.echo("\nTop features (permutation importance on validation rows):")
        for row in importance[:5]:
            click.echo(f"  {row['feature']:<24} {row['importance']:+.4f}")
    if result.get("test_metrics"):
        metric = result["primary_metric"]
        click.echo(f"\nTest {metric}: {result['test_metrics'].get(metric, float('nan')):.4f}")
    reg = result.get("registered_model") or {}
    click.echo(
        f"\nBest model: {result['best_child_run_id']} ({result['best_algorithm']}), "
        f"{result['primary_metric']} {result['best_score']:.4f}"
    )
    click.echo(f"Registered model: {reg.get('name')}:{reg.get('version')}")
    click.echo(f"Job output: azureml://jobs/{name}/outputs/best_model")
