"""OpenTelemetry tracing for the scoring server: one SERVER span per scoring request.

Where spans go is chosen once per worker from the environment:

* ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set and ``azure-monitor-opentelemetry``
  importable: Azure Monitor (Application Insights), as a deployment with
  ``app_insights_enabled`` reports on Azure. The package is imported lazily
  and is not a dependency of this project;
* ``AUTOML_OTEL_CONSOLE=1``: printed to stdout by the console exporter;
* otherwise nowhere, and the tracer is OpenTelemetry's no-op tracer (an
  unexported span would cost about 0.1 ms per request for nothing). Tests pass
  their own provider to ``create_app(..., tracer_provider=...)``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import NoOpTracer, Tracer

__all__ = ["AZURE_MONITOR_ENV", "CONSOLE_ENV", "make_tracer"]

AZURE_MONITOR_ENV = "APPLICATIONINSIGHTS_CONNECTION_STRING"
CONSOLE_ENV = "AUTOML_OTEL_CONSOLE"
_log = logging.getLogger(__name__)


def _resource(endpoint: str) -> Resource:
    return Resource.create({"service.name": endpoint, "service.namespace": "automl-local"})


def make_tracer(endpoint: str, provider: TracerProvider | None = None) -> tuple[Tracer, str]:
    """A tracer for this worker and a word naming the exporter (for the start-up log).

    ``provider`` (tests) bypasses the environment.
    """
    if provider is not None:
        return provider.get_tracer("service"), "custom"
    connection_string = os.environ.get(AZURE_MONITOR_ENV, "").strip()
    if connection_string:
        tracer = _azure_monitor_tracer(endpoint, connection_string)
        if tracer is not None:
            return tracer, "azure-monitor"
    if os.environ.get(CONSOLE_ENV, "").strip().lower() in ("1", "true", "yes"):
        provider = TracerProvider(resource=_resource(endpoint))
        # out= now, not the exporter's default bound at import: stdout may have been replaced.
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
        return provider.get_tracer("service"), "console"
    # Nobody listens: OpenTelemetry's no-op tracer, so the hot path pays ~1 us, not ~100 us.
    return NoOpTracer(), "none"


def _azure_monitor_tracer(endpoint: str, connection_string: str) -> Tracer | None:
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
    except ImportError:
        _log.warning(
            "%s is set but azure-monitor-opentelemetry is not installed; spans are not "
            "exported (pip install azure-monitor-opentelemetry).",
            AZURE_MONITOR_ENV,
        )
        return None
    options: dict[str, Any] = {
        "connection_string": connection_string,
        "resource": _resource(endpoint),
        "enable_live_metrics": False,
    }
    configure_azure_monitor(**options)
    from opentelemetry import trace

    return trace.get_tracer("service")
