"""Geodesics on the WGS84 ellipsoid (Karney's algorithm through pyproj.Geod). Degrees and metres."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod

WGS84_GEOD = Geod(ellps="WGS84")


def inverse(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> tuple[NDArray, NDArray]:
    """Distance (m) and forward azimuth (deg clockwise from north, in [0, 360)) from point 1 to point 2."""
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        *(np.asarray(v, float) for v in (lat1_deg, lon1_deg, lat2_deg, lon2_deg))
    )
    az12, _az21, dist = WGS84_GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist, float), np.mod(np.asarray(az12, float), 360.0)


def direct(
    lat_deg: ArrayLike, lon_deg: ArrayLike, az_deg: ArrayLike, dist_m: ArrayLike
) -> tuple[NDArray, NDArray]:
    """The point reached (lat, lon in degrees; lon in [-180, 180)) by going dist_m along azimuth az_deg."""
    lat, lon, az, dist = np.broadcast_arrays(*(np.asarray(v, float) for v in (lat_deg, lon_deg, az_deg, dist_m)))
    lon2, lat2, _ = WGS84_GEOD.fwd(lon, lat, az, dist)
    return np.asarray(lat2, float), np.asarray(lon2, float)
