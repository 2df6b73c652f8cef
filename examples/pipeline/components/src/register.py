"""Register step of the bank-marketing pipeline: register the AutoML best model.

Under automl-local the pipeline runner sets ``AUTOML_LOCAL_WORKSPACE`` (and
``AUTOML_BACKEND=local``), so ``backends.get_client()`` reaches the same
workspace and the model lands in its registry (and its MLflow registry). On
Azure ML compute the job's managed identity and workspace variables are used,
as in Azure's own sample.
"""

import argparse
import os
from pathlib import Path


def get_ml_client():
    if os.environ.get("AUTOML_LOCAL_WORKSPACE"):
        from automl_local import get_client

        return get_client("local", workspace=os.environ["AUTOML_LOCAL_WORKSPACE"])
    from azure.ai.ml import MLClient
    from azure.identity import ManagedIdentityCredential

    return MLClient(
        credential=ManagedIdentityCredential(
            client_id=os.environ.get("DEFAULT_IDENTITY_CLIENT_ID")
        ),
        subscription_id=os.environ["AZUREML_ARM_SUBSCRIPTION"],
        resource_group_name=os.environ["AZUREML_ARM_RESOURCEGROUP"],
        workspace_name=os.environ["AZUREML_ARM_WORKSPACE_NAME"],
    )


def main() -> None:
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Model

    parser = argparse.ArgumentParser()
    parser.add_argument("--model_input_path", required=True)
    parser.add_argument("--model_base_name", required=True)
    parser.add_argument("--model_id_path", required=True)
    args = parser.parse_args()

    model = Model(
        path=args.model_input_path,
        name=args.model_base_name,
        description="Model created from run.",
        type=AssetTypes.MLFLOW_MODEL,
    )
    registered = get_ml_client().models.create_or_update(model)
    model_id = registered.id or f"azureml:{registered.name}:{registered.version}"
    print(f"registered model {registered.name}:{registered.version} ({model_id})")
    out = Path(args.model_id_path)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reg_id.txt").write_text(model_id)


if __name__ == "__main__":
    main()
