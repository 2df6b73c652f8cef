"""Request bodies of the control plane, as pydantic models (they are the Swagger schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BatchInput", "BatchJobProperties", "BatchJobRequest", "PipelineSubmitRequest"]


class PipelineSubmitRequest(BaseModel):
    """The classic published-pipeline body (azureml-pipeline-core's ``PipelineSubmit``)."""

    model_config = ConfigDict(extra="allow")

    ExperimentName: str | None = Field(default=None, description="Experiment of the new run.")
    ParameterAssignments: dict[str, Any] = Field(
        default_factory=dict,
        description="Pipeline inputs by name: literals, or paths/URLs/azureml:<asset>:<v> "
        "for data inputs.",
    )
    Description: str | None = None
    Tags: dict[str, str] | None = None


class BatchInput(BaseModel):
    """One entry of ``InputData``: a literal (``Value``) or data (``Uri``)."""

    model_config = ConfigDict(extra="forbid")

    JobInputType: str = Field(
        default="Literal", description="Literal, UriFile, UriFolder or MLTable (case-insensitive)."
    )
    Uri: str | None = None
    Value: Any = None


class BatchJobProperties(BaseModel):
    model_config = ConfigDict(extra="allow")

    InputData: dict[str, BatchInput] = Field(default_factory=dict)
    OutputData: dict[str, Any] | None = None
    properties: dict[str, Any] | None = Field(
        default=None, description='Run properties, e.g. {"experimentName": "nightly"}.'
    )


class BatchJobRequest(BaseModel):
    """The body of ``POST <batch endpoint>/jobs`` (Azure's batch invocation REST form)."""

    model_config = ConfigDict(extra="forbid")

    properties: BatchJobProperties = Field(default_factory=BatchJobProperties)
