"""Deployment choice: the pinning header, traffic weights, mirror traffic (no HTTP)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from automl_local.service._errors import ScoringError
from automl_local.service._routing import choose_deployment, choose_mirror


def test_weighted_routing_follows_traffic() -> None:
    rng = random.Random(7)
    counts = Counter(
        choose_deployment("ep", {"blue": 90, "green": 10}, {"blue", "green"}, rng=rng)
        for _ in range(4000)
    )
    assert 0.87 < counts["blue"] / 4000 < 0.93
    assert counts["green"] > 0


def test_zero_traffic_is_reachable_only_by_header() -> None:
    traffic = {"blue": 100, "green": 0}
    assert {choose_deployment("ep", traffic, {"blue", "green"}) for _ in range(50)} == {"blue"}
    assert choose_deployment("ep", traffic, {"blue", "green"}, pinned="green") == "green"


def test_unknown_pinned_deployment_is_404_naming_existing() -> None:
    with pytest.raises(ScoringError, match=r"'red'.*does not exist.*blue, green") as info:
        choose_deployment("ep", {"blue": 100}, {"blue", "green"}, pinned="red")
    assert info.value.status == 404


def test_no_traffic_is_503_with_the_fix() -> None:
    with pytest.raises(ScoringError, match=r"No valid deployments to route to.*header") as info:
        choose_deployment("ep", {"blue": 0}, {"blue"})
    assert info.value.status == 503
    with pytest.raises(ScoringError, match=r"has no deployments yet"):
        choose_deployment("ep", {}, set())


def test_traffic_to_undeclared_deployment_is_ignored() -> None:
    assert choose_deployment("ep", {"gone": 50, "blue": 50}, {"blue"}) == "blue"


def test_mirror() -> None:
    rng = random.Random(1)
    picks = [choose_mirror({"green": 50}, "blue", rng) for _ in range(2000)]
    assert 0.45 < picks.count("green") / 2000 < 0.55
    assert choose_mirror({"green": 50}, "green", rng) is None
    assert choose_mirror({}, "blue", rng) is None
