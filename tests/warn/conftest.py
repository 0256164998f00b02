"""Fixtures for the warning tests; the builders live in warn_fixtures.py."""

from __future__ import annotations

import pytest
from warn_fixtures import AREAS, EXERCISE

from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer, WarnPolicy


@pytest.fixture
def exercise_machine():
    def make(policy: WarnPolicy | None = None, run_id: str = "R1") -> WarningMachine:
        return WarningMachine(
            Issuer("triwarn.jp-node", exercise=EXERCISE), run_id, policy=policy, area_geometry=AREAS.get
        )

    return make
