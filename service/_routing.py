"""Which deployment answers a request: the pinning header, else the traffic weights.

Mirrors Azure's endpoint router: ``azureml-model-deployment: <d>`` pins a
deployment (even one with 0 % traffic); otherwise a deployment is drawn at
random with probability proportional to its traffic weight. Weights need not
sum to 100 (a sum of 90 still splits 100 % of requests in those proportions),
which matches what a client sees on Azure when the sum is below 100.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping

from automl_local.service._errors import ScoringError

__all__ = ["DEPLOYMENT_HEADER", "choose_deployment", "choose_mirror"]

DEPLOYMENT_HEADER = "azureml-model-deployment"


def choose_deployment(
    endpoint: str,
    traffic: Mapping[str, int],
    deployments: Collection[str],
    pinned: str | None = None,
    rng: random.Random | None = None,
) -> str:
    """Name of the deployment to score with; :class:`ScoringError` if there is none.

    ``deployments`` are the names the endpoint declares. A pinned name that is
    not among them is a 404 naming the existing ones; no positive weight at
    all (and no pin) is a 503 telling how to fix it.
    """
    if pinned:
        if pinned in deployments:
            return pinned
        existing = ", ".join(sorted(deployments)) or "(none)"
        raise ScoringError(
            404,
            f"Deployment '{pinned}' (from the {DEPLOYMENT_HEADER} header) does not exist on "
            f"endpoint '{endpoint}'. Existing deployments: {existing}.",
        )
    names = [d for d, w in traffic.items() if w > 0 and d in deployments]
    if not names:
        if not deployments:
            raise ScoringError(
                503,
                f"Endpoint '{endpoint}' has no deployments yet; create one "
                "(online_deployments.begin_create_or_update) and give it traffic.",
            )
        raise ScoringError(
            503,
            f"No valid deployments to route to: no deployment of endpoint '{endpoint}' has "
            f"traffic > 0. Set the endpoint's traffic (e.g. traffic = {{'{min(deployments)}': "
            f"100}}, then online_endpoints.begin_create_or_update) or pin a deployment with "
            f"the '{DEPLOYMENT_HEADER}' header.",
        )
    if len(names) == 1:
        return names[0]
    weights = [traffic[d] for d in names]
    return (rng or random).choices(names, weights=weights)[0]


def choose_mirror(
    mirror_traffic: Mapping[str, int], served_by: str, rng: random.Random | None = None
) -> str | None:
    """The deployment that also gets a shadow copy of this request, or ``None``.

    Azure allows one mirror deployment with up to 50 %; a request is mirrored
    with that probability, never to the deployment that already answered it.
    """
    for name, percent in mirror_traffic.items():
        if percent > 0 and name != served_by and (rng or random).random() * 100 < percent:
            return name
    return None
