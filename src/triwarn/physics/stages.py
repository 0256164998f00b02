"""Multi-stage launch vehicles (satellite launchers) as reports describe them, and how a flight fails.

An SLV launch is reported by its site, its direction (or the inclination of the orbit it aims at), the
altitude of that orbit, sometimes its staging times, and its outcome: orbit, or a failure at a stage
(the stage burns out early, the next stage does not ignite, or the vehicle explodes into pieces).

The generic vehicle below is not a model of any real launcher: round figures of the three-stage class
in open literature (burn times, mass ratios, thrust accelerations at ignition); the solver (physics.slv)
scales every thrust acceleration by one factor, as physics.solver does for missiles. Ballistic
coefficients (kg/m^2) are those of each piece falling on its own: a spent tumbling stage, the two light
fairing halves, the payload. Degrees and kilometres, as published, in the specs; SI inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from triwarn.errors import InputError


@dataclass(frozen=True)
class Stage:
    """One stage: constant thrust, mass falling linearly from mass_ratio times burnout mass."""

    burn_s: float
    mass_ratio: float  # mass at ignition / mass at burnout of this stage (with everything above it)
    accel0_mps2: float  # nominal thrust acceleration at ignition
    spent_beta_kg_m2: float  # the spent stage falling on its own
    coast_before_s: float = 0.0  # unpowered gap between the previous stage's separation and this ignition


@dataclass(frozen=True)
class SlvVehicle:
    """A generic multi-stage launcher."""

    name: str
    stages: tuple[Stage, ...]
    vertical_rise_s: float
    stack_beta_kg_m2: float  # the whole stack (or what is left of it) while it flies or falls together
    payload_beta_kg_m2: float
    fairing_beta_kg_m2: float
    fairing_sep_s: float  # seconds after launch (once above most of the atmosphere)
    debris_beta_kg_m2: tuple[float, float]  # range of the pieces of an explosion

    def stage_windows(self) -> list[tuple[float, float]]:
        """(ignition, burnout) of each stage, seconds after launch."""
        out, t = [], 0.0
        for st in self.stages:
            t += st.coast_before_s
            out.append((t, t + st.burn_s))
            t += st.burn_s
        return out

    @property
    def insertion_s(self) -> float:
        return self.stage_windows()[-1][1]

    def with_stage_burn_s(self, burn_s: tuple[float, ...]) -> SlvVehicle:
        """The same vehicle with the reported burn time of each stage."""
        stages = tuple(replace(st, burn_s=float(b)) for st, b in zip(self.stages, burn_s, strict=True))
        return replace(self, stages=stages)

    def with_coast_s(self, coast_s: tuple[float, ...]) -> SlvVehicle:
        """The same vehicle with the given coast before each upper stage (len = stages - 1)."""
        upper = (replace(st, coast_before_s=float(c)) for st, c in zip(self.stages[1:], coast_s, strict=True))
        stages = (self.stages[0], *upper)
        return replace(self, stages=stages)


VEHICLES: dict[str, SlvVehicle] = {
    v.name: v
    for v in (
        SlvVehicle(
            name="slv3",
            stages=(
                Stage(148.0, 2.7, 13.5, 1500.0),
                Stage(128.0, 2.55, 13.0, 1000.0),
                Stage(250.0, 3.4, 9.6, 600.0),
            ),
            vertical_rise_s=10.0,
            stack_beta_kg_m2=3000.0,
            payload_beta_kg_m2=800.0,
            fairing_beta_kg_m2=60.0,
            fairing_sep_s=200.0,
            debris_beta_kg_m2=(100.0, 2000.0),
        ),
    )
}

FAILURE_MODES = ("early_burnout", "no_ignition", "explosion")
MAX_DEBRIS = 50


@dataclass(frozen=True)
class StageFailure:
    """How a flight fails. stage is 1-based; at_s is seconds into that stage's burn (early_burnout,
    explosion; ignored for no_ignition, where the stage never lights). An explosion makes `pieces`
    pieces, scattered about the vehicle's velocity by up to spread_mps each, from the seeded stream."""

    stage: int
    mode: str
    at_s: float = 0.0
    pieces: int = 8
    spread_mps: float = 150.0
    seed: int = 0


@dataclass(frozen=True)
class SlvSpec:
    """A satellite launch as reports describe it. Exactly one of azimuth_deg or inclination_deg fixes
    the direction; with both, azimuth_deg is the initial heading (a dog-leg flight) and the last stage
    steers to the inclination. stage_burn_s / coast_s replace the vehicle's when reported."""

    launch_lat_deg: float
    launch_lon_deg: float
    orbit_alt_km: float
    azimuth_deg: float | None = None
    inclination_deg: float | None = None
    stage_burn_s: tuple[float, ...] | None = None
    coast_s: tuple[float, ...] | None = None
    failure: StageFailure | None = None
    vehicle: str = "slv3"

    def nominal(self) -> SlvSpec:
        """The same launch without its failure (what the solver aims the vehicle for)."""
        return replace(self, failure=None)


ORBIT_ALT_LIMITS_KM = (150.0, 2000.0)


def _bad(why: str, field: str) -> InputError:
    return InputError(why, field=field)


def vehicle_for(spec: SlvSpec) -> SlvVehicle:
    """The named vehicle with the spec's reported burn and coast times applied."""
    veh = VEHICLES.get(spec.vehicle.strip().lower())
    if veh is None:
        raise _bad(f"unknown launch vehicle {spec.vehicle!r}; known: {', '.join(VEHICLES)}", "vehicle")
    if spec.stage_burn_s is not None:
        veh = veh.with_stage_burn_s(spec.stage_burn_s)
    if spec.coast_s is not None:
        veh = veh.with_coast_s(spec.coast_s)
    return veh


def validate_slv(spec: SlvSpec) -> SlvVehicle:
    """Check every figure of spec; its vehicle, or InputError naming the field."""
    def finite(v: float | None) -> bool:
        return v is not None and isinstance(v, int | float) and math.isfinite(v)

    if not (finite(spec.launch_lat_deg) and -90.0 <= spec.launch_lat_deg <= 90.0):
        raise _bad(f"{spec.launch_lat_deg!r}: latitude must lie in [-90, 90] degrees", "launch_lat_deg")
    if not (finite(spec.launch_lon_deg) and -180.0 <= spec.launch_lon_deg <= 360.0):
        raise _bad(f"{spec.launch_lon_deg!r}: longitude must lie in [-180, 360] degrees", "launch_lon_deg")
    lo, hi = ORBIT_ALT_LIMITS_KM
    if not (finite(spec.orbit_alt_km) and lo <= spec.orbit_alt_km <= hi):
        raise _bad(f"{spec.orbit_alt_km!r}: a low orbit lies in [{lo:g}, {hi:g}] km", "orbit_alt_km")
    if spec.azimuth_deg is None and spec.inclination_deg is None:
        raise _bad("give azimuth_deg or inclination_deg (or both, for a dog-leg)", "azimuth_deg")
    if spec.azimuth_deg is not None and not (finite(spec.azimuth_deg) and -360.0 <= spec.azimuth_deg <= 360.0):
        raise _bad(f"{spec.azimuth_deg!r}: azimuth must lie in [-360, 360] degrees", "azimuth_deg")
    if spec.inclination_deg is not None:
        if not (finite(spec.inclination_deg) and 0.0 <= spec.inclination_deg <= 180.0):
            raise _bad(f"{spec.inclination_deg!r}: inclination lies in [0, 180] degrees", "inclination_deg")
        if min(spec.inclination_deg, 180.0 - spec.inclination_deg) < abs(spec.launch_lat_deg) - 1e-9:
            raise _bad(
                f"an orbit inclined {spec.inclination_deg:g} degrees never passes over latitude "
                f"{spec.launch_lat_deg:g}: no direct launch reaches it",
                "inclination_deg",
            )
    base = VEHICLES.get(spec.vehicle.strip().lower())
    if base is None:
        raise _bad(f"unknown launch vehicle {spec.vehicle!r}; known: {', '.join(VEHICLES)}", "vehicle")
    n = len(base.stages)
    if spec.stage_burn_s is not None and (
        len(spec.stage_burn_s) != n or not all(finite(b) and 5.0 <= b <= 1000.0 for b in spec.stage_burn_s)
    ):
        raise _bad(f"{list(spec.stage_burn_s)!r}: {n} burn times, each in [5, 1000] s", "stage_burn_s")
    if spec.coast_s is not None and (
        len(spec.coast_s) != n - 1 or not all(finite(c) and 0.0 <= c <= 3000.0 for c in spec.coast_s)
    ):
        raise _bad(f"{list(spec.coast_s)!r}: {n - 1} coast times, each in [0, 3000] s", "coast_s")
    veh = vehicle_for(spec)
    f = spec.failure
    if f is not None:
        if f.mode not in FAILURE_MODES:
            raise _bad(f"unknown failure mode {f.mode!r}; known: {', '.join(FAILURE_MODES)}", "failure.mode")
        if not (isinstance(f.stage, int) and 1 <= f.stage <= n):
            raise _bad(f"{f.stage!r}: the failed stage is 1 to {n}", "failure.stage")
        if f.mode == "no_ignition" and f.stage == 1:
            raise _bad("a first stage that does not ignite never leaves the pad: nothing to fly", "failure.stage")
        burn = veh.stages[f.stage - 1].burn_s
        if f.mode != "no_ignition" and not (finite(f.at_s) and 0.0 < f.at_s < burn):
            raise _bad(f"{f.at_s!r}: failure time lies inside the stage's {burn:g} s burn", "failure.at_s")
        if not (isinstance(f.pieces, int) and 1 <= f.pieces <= MAX_DEBRIS):
            raise _bad(f"{f.pieces!r}: an explosion makes 1 to {MAX_DEBRIS} tracked pieces", "failure.pieces")
        if not (finite(f.spread_mps) and 0.0 <= f.spread_mps <= 1000.0):
            raise _bad(f"{f.spread_mps!r}: spread lies in [0, 1000] m/s", "failure.spread_mps")
    return veh
