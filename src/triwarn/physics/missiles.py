"""Missile classes: the generic burn-time and staging assumptions used when a report gives none.

Reports publish apogee and ground range, rarely the burn. Each class below is a generic vehicle, not a
model of any real missile: its stage burn times, stage mass ratios (mass at ignition over mass at
burnout) and thrust accelerations are round figures typical of the class in open literature. The solver
scales all thrust accelerations by one factor, so only the burn times and the shape of the thrust profile
come from here; docs/physics.md tabulates them.

When a report gives no class, it is chosen from the minimum-energy range of the flight: the range the
same burnout speed would reach on its best trajectory, so that a lofted ICBM test (1,000 km range,
6,000 km apogee) is still an ICBM. Speeds from a Kepler conic over a spherical, non-rotating Earth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from triwarn.errors import InputError
from triwarn.geo.wgs84 import GM_M3_S2, MEAN_RADIUS_M


@dataclass(frozen=True)
class MissileClass:
    """A generic vehicle. Times in s, accelerations in m/s^2, ballistic coefficients in kg/m^2."""

    name: str
    stage_burn_s: tuple[float, ...]
    stage_mass_ratio: tuple[float, ...]  # mass at stage ignition / mass at stage burnout
    stage_accel0_mps2: tuple[float, ...]  # nominal thrust acceleration at ignition of each stage
    vertical_rise_s: float
    boost_beta_kg_m2: float  # whole vehicle during boost
    warhead_beta_kg_m2: float  # re-entry vehicle
    stage_beta_kg_m2: float  # a spent, tumbling stage
    min_energy_range_km: tuple[float, float]  # band used to choose the class

    @property
    def burn_s(self) -> float:
        """Total burn time (s)."""
        return float(sum(self.stage_burn_s))

    def with_burn_s(self, burn_s: float) -> MissileClass:
        """The same vehicle with every stage's burn scaled so that the total is burn_s (s)."""
        k = burn_s / self.burn_s
        return replace(
            self,
            stage_burn_s=tuple(t * k for t in self.stage_burn_s),
            vertical_rise_s=min(self.vertical_rise_s, 0.2 * burn_s),
        )


CLASSES: dict[str, MissileClass] = {
    c.name: c
    for c in (
        MissileClass("srbm", (65.0,), (3.0,), (22.0,), 4.0, 15000.0, 3000.0, 500.0, (0.0, 1000.0)),
        MissileClass("mrbm", (70.0,), (3.5,), (25.0,), 5.0, 25000.0, 4000.0, 500.0, (1000.0, 3000.0)),
        MissileClass(
            "irbm", (120.0, 60.0), (3.0, 2.5), (15.0, 12.0), 8.0, 30000.0, 5000.0, 500.0, (3000.0, 5500.0)
        ),
        MissileClass(
            "icbm", (150.0, 120.0), (3.5, 3.5), (14.0, 11.0), 10.0, 40000.0, 6000.0, 500.0, (5500.0, math.inf)
        ),
    )
}

BURN_S_LIMITS = (10.0, 400.0)  # sane total burn times (s) accepted from users


def kepler_surface_launch(apogee_km: float, range_km: float) -> tuple[float, float]:
    """Speed (m/s) and flight-path angle (rad) at the surface of the conic with this apogee and range.

    Spherical, non-rotating Earth of mean radius; the conic is symmetric about its apogee.
    """
    re = MEAN_RADIUS_M
    ra = re + apogee_km * 1e3
    half = 0.5 * range_km * 1e3 / re
    ecc = (ra - re) / (ra - re * math.cos(half))
    a = ra / (1.0 + ecc)
    v2 = GM_M3_S2 * (2.0 / re - 1.0 / a)
    p = ra * (1.0 - ecc)
    cos_fpa = min(1.0, math.sqrt(GM_M3_S2 * p) / (re * math.sqrt(v2)))
    return math.sqrt(v2), math.acos(cos_fpa)


def min_energy_range_km(apogee_km: float, range_km: float) -> float:
    """Range (km) the burnout speed of this apogee/range flight reaches on its minimum-energy path."""
    speed, _ = kepler_surface_launch(apogee_km, range_km)
    nu = speed * speed * MEAN_RADIUS_M / GM_M3_S2
    if nu >= 1.0:
        return math.pi * MEAN_RADIUS_M / 1e3
    return 2.0 * math.asin(nu / (2.0 - nu)) * MEAN_RADIUS_M / 1e3


def choose_class(apogee_km: float, range_km: float) -> MissileClass:
    """The class whose minimum-energy range band holds this flight's minimum-energy range."""
    equiv = min_energy_range_km(apogee_km, range_km)
    for cls in CLASSES.values():
        lo, hi = cls.min_energy_range_km
        if lo <= equiv < hi:
            return cls
    return CLASSES["icbm"]


def class_by_name(name: str, field: str = "missile_class") -> MissileClass:
    """The class called name (case-insensitive); InputError naming the field if there is none."""
    cls = CLASSES.get(name.strip().lower())
    if cls is None:
        raise InputError(f"unknown missile class {name!r}; known: {', '.join(CLASSES)}", field=field)
    return cls
