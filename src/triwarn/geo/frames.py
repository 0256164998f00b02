"""Conversions between WGS84 geodetic, ECEF and local ENU / AER frames.

All functions are vectorised: scalars or arrays broadcast together, and positions are arrays whose last
axis has length 3. Angles are radians, distances metres, unless a name says otherwise.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.geo.wgs84 import A_M, B_M, E2, EP2


def geodetic_to_ecef(lat_rad: ArrayLike, lon_rad: ArrayLike, alt_m: ArrayLike) -> NDArray[np.float64]:
    """Geodetic latitude, longitude (rad) and height above the ellipsoid (m) to ECEF (m), shape (..., 3)."""
    lat, lon, alt = np.broadcast_arrays(
        np.asarray(lat_rad, float), np.asarray(lon_rad, float), np.asarray(alt_m, float)
    )
    sin_lat = np.sin(lat)
    n = A_M / np.sqrt(1.0 - E2 * sin_lat * sin_lat)
    x = (n + alt) * np.cos(lat) * np.cos(lon)
    y = (n + alt) * np.cos(lat) * np.sin(lon)
    z = (n * (1.0 - E2) + alt) * sin_lat
    return np.stack([x, y, z], axis=-1)


def ecef_to_geodetic(pos_ecef_m: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """ECEF (m), shape (..., 3), to geodetic latitude (rad), longitude (rad), height (m).

    Bowring's closed form refined by two Newton-style iterations: below 1 mm from the surface to
    geostationary altitude.
    """
    p = np.asarray(pos_ecef_m, float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    lon = np.arctan2(y, x)
    rho = np.hypot(x, y)
    beta = np.arctan2(z * A_M, rho * B_M)
    for _ in range(3):
        lat = np.arctan2(z + EP2 * B_M * np.sin(beta) ** 3, rho - E2 * A_M * np.cos(beta) ** 3)
        beta = np.arctan2((1.0 - E2) ** 0.5 * np.sin(lat), np.cos(lat))
    sin_lat = np.sin(lat)
    n = A_M / np.sqrt(1.0 - E2 * sin_lat * sin_lat)
    cos_lat = np.cos(lat)
    # Height from whichever of the two expressions is well conditioned at this latitude.
    with np.errstate(divide="ignore", invalid="ignore"):
        alt_eq = rho / cos_lat - n
        alt_pole = z / sin_lat - n * (1.0 - E2)
    alt = np.where(np.abs(cos_lat) > 0.1, alt_eq, alt_pole)
    return lat, lon, alt


def enu_rotation(lat_rad: ArrayLike, lon_rad: ArrayLike) -> NDArray[np.float64]:
    """Rotation matrices R (..., 3, 3) such that v_enu = R @ v_ecef at the given geodetic point."""
    lat = np.asarray(lat_rad, float)
    lon = np.asarray(lon_rad, float)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack([-so + zero, co + zero, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl + zero], axis=-1)
    up = np.stack([cl * co, cl * so, sl + zero], axis=-1)
    return np.stack([east, north, up], axis=-2)


def ecef_to_enu(
    pos_ecef_m: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike, alt0_m: ArrayLike
) -> NDArray[np.float64]:
    """ECEF positions to east/north/up (m) about a geodetic origin."""
    origin = geodetic_to_ecef(lat0_rad, lon0_rad, alt0_m)
    rot = enu_rotation(lat0_rad, lon0_rad)
    d = np.asarray(pos_ecef_m, float) - origin
    return np.einsum("...ij,...j->...i", rot, d)


def enu_to_ecef(
    enu_m: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike, alt0_m: ArrayLike
) -> NDArray[np.float64]:
    """East/north/up (m) about a geodetic origin to ECEF positions (m)."""
    origin = geodetic_to_ecef(lat0_rad, lon0_rad, alt0_m)
    rot = enu_rotation(lat0_rad, lon0_rad)
    return origin + np.einsum("...ji,...j->...i", rot, np.asarray(enu_m, float))


def enu_to_aer(enu_m: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """ENU (m) to azimuth (rad, clockwise from north, in [0, 2π)), elevation (rad), slant range (m)."""
    e = np.asarray(enu_m, float)
    east, north, up = e[..., 0], e[..., 1], e[..., 2]
    horiz = np.hypot(east, north)
    az = np.mod(np.arctan2(east, north), 2.0 * np.pi)
    el = np.arctan2(up, horiz)
    rng = np.hypot(horiz, up)
    return az, el, rng


def aer_to_enu(az_rad: ArrayLike, el_rad: ArrayLike, range_m: ArrayLike) -> NDArray[np.float64]:
    """Azimuth (rad from north, clockwise), elevation (rad), slant range (m) to ENU (m)."""
    az, el, rng = np.broadcast_arrays(
        np.asarray(az_rad, float), np.asarray(el_rad, float), np.asarray(range_m, float)
    )
    horiz = rng * np.cos(el)
    return np.stack([horiz * np.sin(az), horiz * np.cos(az), rng * np.sin(el)], axis=-1)


def ecef_to_aer(
    pos_ecef_m: ArrayLike, lat0_rad: ArrayLike, lon0_rad: ArrayLike, alt0_m: ArrayLike
) -> tuple[NDArray, NDArray, NDArray]:
    """ECEF target positions to azimuth, elevation (rad) and slant range (m) seen from a geodetic site.

    Elevation is measured above the plane normal to the ellipsoid at the site.
    """
    return enu_to_aer(ecef_to_enu(pos_ecef_m, lat0_rad, lon0_rad, alt0_m))


def aer_to_ecef(
    az_rad: ArrayLike,
    el_rad: ArrayLike,
    range_m: ArrayLike,
    lat0_rad: ArrayLike,
    lon0_rad: ArrayLike,
    alt0_m: ArrayLike,
) -> NDArray[np.float64]:
    """Azimuth, elevation (rad) and slant range (m) from a geodetic site to ECEF (m)."""
    return enu_to_ecef(aer_to_enu(az_rad, el_rad, range_m), lat0_rad, lon0_rad, alt0_m)
