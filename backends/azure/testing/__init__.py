"""An in-memory Azure for tests: a fake azure-core transport and credential.

azure-ai-ml talks to Azure only through azure-core pipelines, so a transport
that answers requests from memory lets the *real* ``MLClient`` code run
offline: entity serialisation, URL building, LRO polling, blob uploads and
``invoke`` all happen exactly as against Azure, and every request is recorded
for assertions. Nothing here is used outside tests; it is shipped so any
feature's tests (and users' own tests) can exercise ``--backend azure``.

    transport = FakeAzureTransport()
    transport.add("GET", r"/onlineEndpoints/(?P<name>[^/?]+)$", lambda req, m: ...)
    client = AzureClient(subscription_id="s", resource_group_name="rg",
                         workspace_name="ws", credential=FakeCredential(),
                         transport=transport)

:class:`FakeAzureML` builds a whole workspace on such a transport (ARM
resources, run history, MLflow, blob storage, scoring; for pipelines: code
uploads, child runs, schedule triggers, batch-endpoint invocations),
answering from JSON fixtures; the contract suite's are in
``tests/contract/fixtures/azure``. :class:`FakeCredential` hands out
unsigned JWTs for the audience asked, as Entra ID would.

Uploads and downloads use azure-storage-blob, which azure-ai-ml builds
without passing our transport along; :func:`intercept_storage` routes those
clients to the same fake transport for the duration of a ``with`` block.
"""

from __future__ import annotations

from automl_local.backends.azure.testing._blobs import FakeBlobStorage
from automl_local.backends.azure.testing._transport import (
    FakeAzureTransport,
    FakeCredential,
    FakeResponse,
    RecordedRequest,
    Responder,
    intercept_storage,
)
from automl_local.backends.azure.testing._workspace import FakeAzureML

__all__ = [
    "FakeAzureML",
    "FakeAzureTransport",
    "FakeBlobStorage",
    "FakeCredential",
    "FakeResponse",
    "RecordedRequest",
    "Responder",
    "intercept_storage",
]
