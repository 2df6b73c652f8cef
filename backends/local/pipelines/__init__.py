"""Pipelines, published pipelines and schedules of the local backend: one home, one front.

What ``ml_client`` does for pipeline jobs (``jobs.create_or_update`` of a
``PipelineJob``), for ``batch_endpoints`` / ``batch_deployments`` holding
pipeline deployments (published pipelines), for ``schedules``, and the
workspace's control-plane server that serves the published pipelines over
HTTP and fires the schedules. The DAG itself runs in the engine
(:mod:`automl_local.pipelines`); this package turns entities into its input
and runs it in a detached process.

    from automl_local.backends.local.pipelines import invoke_published, live_record

Everything outside this package (the local client, ``service.control_plane``,
tests) imports from here only. Modules:

* ``_spec``: entities -> the engine's pipeline dict (code snapshotted, paths checked);
* ``_jobs``: pipeline jobs (submit, status, stream, cancel, outputs);
* ``_runner``: the detached pipeline job process; ``_automl_node``: its AutoML nodes;
* ``_published``: batch endpoints / deployments for pipelines, parameters, invocation;
* ``_schedules`` and ``_triggers``: ``JobSchedule`` storage, firing, cron/recurrence maths;
* ``_control_plane``: the server process and its keys; ``_groups``: the client's
  ``published_pipelines`` and ``control_plane`` groups.
"""

from __future__ import annotations

from automl_local.backends.local.pipelines._control_plane import (
    AUTOSTART_ENV,
    KEY_SLOTS,
    MISSED_RUN_POLICIES,
    control_plane_dir,
    ensure_server,
    get_keys,
    key_digests,
    regenerate_key,
    server_state,
    server_url,
    start_server,
    stop_server,
)
from automl_local.backends.local.pipelines._expressions import (
    expand_schedule_expressions,
    hold_schedule_expressions,
)
from automl_local.backends.local.pipelines._groups import (
    LocalControlPlaneOperations,
    LocalPublishedPipelineOperations,
)
from automl_local.backends.local.pipelines._jobs import (
    cancel_pipeline,
    list_children,
    live_record,
    pipeline_entity,
    pipeline_output_path,
    start_pipeline,
    stream_pipeline,
    submit_pipeline,
)
from automl_local.backends.local.pipelines._published import (
    DEFAULT_DEPLOYMENT,
    LocalBatchDeploymentOperations,
    LocalBatchEndpointOperations,
    coerce_parameters,
    describe_published,
    invoke_published,
    parameters_of,
    publish_job,
    published_names,
    runs_of,
)
from automl_local.backends.local.pipelines._schedules import (
    LocalScheduleOperations,
    fire_schedule,
    next_run_time,
    record_run,
    schedule_anchor,
    schedule_history,
    schedule_record,
    schedule_records,
    set_last_fire_time,
)
from automl_local.backends.local.pipelines._triggers import (
    TriggerPlan,
    next_fire_time,
    plan_trigger,
    to_zone,
    upcoming,
)

__all__ = [
    "AUTOSTART_ENV",
    "DEFAULT_DEPLOYMENT",
    "KEY_SLOTS",
    "MISSED_RUN_POLICIES",
    "LocalBatchDeploymentOperations",
    "LocalBatchEndpointOperations",
    "LocalControlPlaneOperations",
    "LocalPublishedPipelineOperations",
    "LocalScheduleOperations",
    "TriggerPlan",
    "cancel_pipeline",
    "coerce_parameters",
    "control_plane_dir",
    "describe_published",
    "ensure_server",
    "expand_schedule_expressions",
    "fire_schedule",
    "get_keys",
    "hold_schedule_expressions",
    "invoke_published",
    "key_digests",
    "list_children",
    "live_record",
    "next_fire_time",
    "next_run_time",
    "parameters_of",
    "pipeline_entity",
    "pipeline_output_path",
    "plan_trigger",
    "publish_job",
    "published_names",
    "record_run",
    "regenerate_key",
    "runs_of",
    "schedule_anchor",
    "schedule_history",
    "schedule_record",
    "schedule_records",
    "server_state",
    "server_url",
    "set_last_fire_time",
    "start_pipeline",
    "start_server",
    "stop_server",
    "stream_pipeline",
    "submit_pipeline",
    "to_zone",
    "upcoming",
]
