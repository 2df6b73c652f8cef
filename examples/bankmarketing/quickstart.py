"""The bank-marketing quickstart, offline: train -> register -> deploy -> invoke.

What ``make demo`` runs. Each step is the azure-ai-ml call an Azure user
writes; only the ``get_client`` line differs from the Azure notebook, and
``--backend azure`` runs the same steps there. The CLI equivalent of each
step is printed as it runs.

    python examples/bankmarketing/quickstart.py [--timeout-minutes 3] [--workspace .automl]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENDPOINT = "bankmarketing-endpoint"
MODEL = "bankmarketing-model"


def step(title: str, cli: str) -> None:
    print(f"\n=== {title}\n    $ {cli}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout-minutes", type=float, default=3.0)
    parser.add_argument(
        "--workspace", default=None, help="default: $AUTOML_LOCAL_WORKSPACE or ./.automl"
    )
    parser.add_argument("--backend", default="local", choices=["local", "azure"])
    args = parser.parse_args(argv)

    from azure.ai.ml import load_job, load_online_deployment, load_online_endpoint
    from azure.ai.ml.entities import Model

    from automl_local import get_client
    from automl_local.exceptions import AutoMLError

    try:
        ml = get_client(
            args.backend, **({"workspace": args.workspace} if args.backend == "local" else {})
        )
        # The job names compute: azureml:cpu-cluster. As in Azure's notebook: use it if it
        # exists, else create it (locally, max_instances bounds the concurrent trials).
        from azure.ai.ml.entities import AmlCompute
        from azure.core.exceptions import ResourceNotFoundError

        try:
            ml.compute.get("cpu-cluster")
        except ResourceNotFoundError:
            print("creating compute cpu-cluster: automl-local compute create --name cpu-cluster "
                  "--max-instances 2")
            ml.begin_create_or_update(
                AmlCompute(name="cpu-cluster", size="STANDARD_DS3_V2", max_instances=2)
            ).result()

        step(
            "1. AutoML classification job",
            "automl-local job create --file examples/bankmarketing/automl-job.yml "
            f"--set limits.timeout_minutes={args.timeout_minutes:g} --stream",
        )
        job = load_job(
            HERE / "automl-job.yml",
            params_override=[{"limits.timeout_minutes": args.timeout_minutes}],
        )
        t0 = time.monotonic()
        returned = ml.jobs.create_or_update(job)
        ml.jobs.stream(returned.name)
        summary = ml.jobs.summary(returned.name)  # both backends; the leaderboard is local
        for row in summary.get("leaderboard", [])[:5]:
            print(f"  {row['rank']:>2}  {row['algorithm']:<22} {row['score']:.4f}")
        print(f"best child: {summary.get('best_child_run_id')}")
        print(f"(job took {time.monotonic() - t0:.0f}s)")

        step(
            "2. Register the best model",
            f"automl-local model create --name {MODEL} --type mlflow_model "
            f"--path azureml://jobs/{returned.name}/outputs/best_model",
        )
        model = ml.models.create_or_update(
            Model(
                name=MODEL,
                type="mlflow_model",
                path=f"azureml://jobs/{returned.name}/outputs/best_model",
            )
        )
        print(f"registered {model.name}:{model.version}")

        step(
            "3. Online endpoint (key auth)",
            "automl-local online-endpoint create --file examples/bankmarketing/endpoint.yml",
        )
        endpoint = load_online_endpoint(HERE / "endpoint.yml")
        ml.online_endpoints.begin_create_or_update(endpoint).result()

        step(
            "4. Deployment with request logging",
            "automl-local online-deployment create "
            "--file examples/bankmarketing/deployment.yml --all-traffic",
        )
        deployment = load_online_deployment(HERE / "deployment.yml")
        deployment.model = f"azureml:{MODEL}:{model.version}"
        t1 = time.monotonic()
        ml.online_deployments.begin_create_or_update(deployment).result()
        print(f"deployment {deployment.name} ready in {time.monotonic() - t1:.1f}s")
        endpoint.traffic = {deployment.name: 100}
        ml.online_endpoints.begin_create_or_update(endpoint).result()
        live = ml.online_endpoints.get(ENDPOINT)
        print(f"scoring URI : {live.scoring_uri}")
        print(
            f"swagger     : {live.openapi_uri}   "
            f"(Swagger UI: {live.scoring_uri.rsplit('/', 1)[0]}/docs)"
        )
        print(f"keys        : automl-local online-endpoint get-credentials --name {ENDPOINT}")

        step(
            "5. Invoke with two rows",
            f"automl-local online-endpoint invoke --name {ENDPOINT} "
            "--request-file examples/bankmarketing/sample-request.json",
        )
        print(
            ml.online_endpoints.invoke(
                endpoint_name=ENDPOINT, request_file=str(HERE / "sample-request.json")
            )
        )
        print(
            f"\nRequest log : automl-local online-deployment get-logs --name {deployment.name} "
            f"--endpoint-name {ENDPOINT} --lines 5"
        )
        print(f"Consume     : python examples/bankmarketing/consume.py --endpoint-name {ENDPOINT}")
        print("Benchmark   : bash examples/bankmarketing/benchmark.sh   (Apache Bench)")
        print("              make bench-scoring                         (vs mlflow models serve)")
        print(f"Clean up    : automl-local online-endpoint delete --name {ENDPOINT} --yes")
    except AutoMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
