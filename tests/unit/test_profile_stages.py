"""`flask --app api profile-requests` wraps the functions its STAGES name where the routes look
them up: a move or a rename must fail here, not in the middle of a benchmark run."""

from __future__ import annotations

import importlib

import pytest

from bench.profile import STAGES


@pytest.mark.parametrize(
    "target", sorted({target for stages in STAGES.values() for _, target in stages}), ids=lambda t: t
)
def test_each_profiled_stage_names_a_function_the_route_calls_through(target):
    module_name, _, path = target.partition(":")
    owner = importlib.import_module(module_name)
    for part in path.split("."):
        owner = getattr(owner, part)
    assert callable(owner)
