"""Checks on a LaunchSpec before any flight is computed: each failure names the field and why."""

from __future__ import annotations

import math

from triwarn.errors import InputError
from triwarn.geo.geodesic import inverse
from triwarn.physics.launch import LaunchSpec
from triwarn.physics.missiles import BURN_S_LIMITS, class_by_name

# Longest geodesic on the WGS84 ellipsoid: half a meridian, pole to pole through either side.
HALF_EARTH_KM = 20003.93


def _finite(value: float | None, field: str) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a number", field=field) from None
    if not math.isfinite(v):
        raise InputError(f"{value!r} is not a finite number", field=field)
    return v


def _lat(value: float | None, field: str) -> float:
    v = _finite(value, field)
    if not -90.0 <= v <= 90.0:
        raise InputError(f"latitude {v:g} deg is outside [-90, 90]", field=field)
    return v


def _lon(value: float | None, field: str) -> float:
    v = _finite(value, field)
    if not -180.0 <= v <= 360.0:
        raise InputError(f"longitude {v:g} deg is outside [-180, 360]", field=field)
    return v


def validate_launch(spec: LaunchSpec) -> LaunchSpec:
    """Return spec with numbers checked (class name lower-cased); raise InputError for impossible input.

    Checks: latitudes and longitudes in range; apogee and range positive, and range no longer than half
    the Earth (HALF_EARTH_KM); exactly one direction (azimuth_deg, or both aim_lat_deg and aim_lon_deg),
    an aim point distinct from the launch point; a known missile class; a burn time within
    missiles.BURN_S_LIMITS. Whether the apogee/range pair can be flown at all is the solver's check
    (it says what apogee is reachable at that range).
    """
    lat = _lat(spec.launch_lat_deg, "launch_lat_deg")
    lon = _lon(spec.launch_lon_deg, "launch_lon_deg")
    apogee = _finite(spec.apogee_km, "apogee_km")
    if apogee <= 0.0:
        raise InputError(f"apogee must be positive, got {apogee:g} km", field="apogee_km")
    rng = _finite(spec.range_km, "range_km")
    if rng <= 0.0:
        raise InputError(f"range must be positive, got {rng:g} km", field="range_km")
    if rng > HALF_EARTH_KM:
        raise InputError(
            f"range {rng:g} km is beyond half the Earth's circumference ({HALF_EARTH_KM:.0f} km)",
            field="range_km",
        )
    has_aim = spec.aim_lat_deg is not None or spec.aim_lon_deg is not None
    if (spec.azimuth_deg is None) == (not has_aim):
        why = "both an azimuth and an aim point were given" if has_aim else "give an azimuth or an aim point"
        raise InputError(f"exactly one direction is needed: {why}", field="azimuth_deg")
    azimuth = None
    aim_lat = aim_lon = None
    if spec.azimuth_deg is not None:
        azimuth = _finite(spec.azimuth_deg, "azimuth_deg")
        if not -360.0 <= azimuth <= 360.0:
            raise InputError(f"azimuth {azimuth:g} deg is outside [-360, 360]", field="azimuth_deg")
        azimuth %= 360.0
    else:
        if spec.aim_lat_deg is None or spec.aim_lon_deg is None:
            missing = "aim_lat_deg" if spec.aim_lat_deg is None else "aim_lon_deg"
            raise InputError("an aim point needs both latitude and longitude", field=missing)
        aim_lat = _lat(spec.aim_lat_deg, "aim_lat_deg")
        aim_lon = _lon(spec.aim_lon_deg, "aim_lon_deg")
        dist_m, _ = inverse(lat, lon, aim_lat, aim_lon)
        if float(dist_m) < 1000.0:
            raise InputError("the aim point is the launch point: no direction", field="aim_lat_deg")
    missile_class = None
    if spec.missile_class is not None:
        missile_class = class_by_name(str(spec.missile_class)).name
    burn = None
    if spec.burn_s is not None:
        burn = _finite(spec.burn_s, "burn_s")
        lo, hi = BURN_S_LIMITS
        if not lo <= burn <= hi:
            why = f"burn time {burn:g} s is outside the sane range [{lo:g}, {hi:g}] s"
            raise InputError(why, field="burn_s")
    return LaunchSpec(
        launch_lat_deg=lat,
        launch_lon_deg=lon,
        apogee_km=apogee,
        range_km=rng,
        azimuth_deg=azimuth,
        aim_lat_deg=aim_lat,
        aim_lon_deg=aim_lon,
        burn_s=burn,
        missile_class=missile_class,
    )


def target_azimuth_deg(spec: LaunchSpec) -> float:
    """Direction (deg clockwise from north) the impact must lie in, as seen from the launch point."""
    if spec.azimuth_deg is not None:
        return float(spec.azimuth_deg) % 360.0
    _, az = inverse(spec.launch_lat_deg, spec.launch_lon_deg, spec.aim_lat_deg, spec.aim_lon_deg)
    return float(az)
