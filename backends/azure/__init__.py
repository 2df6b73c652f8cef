"""The Azure backend: the same operations, run by ``azure.ai.ml.MLClient``.

    from automl_local.backends import get_client
    ml = get_client("azure")              # AZURE_* env vars or config.json
    ml.jobs.create_or_update(load_job("automl-job.yml"))

See :class:`AzureClient`; :mod:`backends.azure.testing` has the fake Azure
(transport, credential, workspace) the tests run it against.
"""

from __future__ import annotations

from automl_local.backends.azure._client import AzureClient
from automl_local.backends.azure._errors import AzureResourceNotFoundError

__all__ = ["AzureClient", "AzureResourceNotFoundError"]
