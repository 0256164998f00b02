"""Motion and measurement models of the ballistic tracker, vectorised over any number of states.

State (9,): ECEF position (m), ECEF velocity (m/s) and a non-gravitational specific force (m/s^2, thrust
minus drag) in ECEF. Two motion modes share this state so that an IMM can mix them without padding:

- MODE_BALLISTIC: free flight under J2 gravity and the rotating-frame terms; the specific force is zero.
- MODE_BOOST: the same plus the specific force, which wanders as a random walk (thrust changes, staging).

The free-flight acceleration and its Jacobian are `physics.equations` (compiled into the kernels of
`imm_ekf`, which integrate in midpoint sub-steps of at most MAX_STEP_S); their numpy reference lives
with the tests (tests/tracking/kernel_oracles.py).

Measurement models: radar (slant range m, azimuth rad clockwise from north, elevation rad at the site)
and infrared line of sight (a unit vector from a platform, expressed as two gnomonic tangent-plane
coordinates about the measured direction, so the innovation is linear near the truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.geo.frames import enu_rotation, geodetic_to_ecef

MODE_BALLISTIC = 0
MODE_BOOST = 1
N_MODES = 2
STATE_DIM = 9
MAX_STEP_S = 2.0  # integration sub-step (s)


@dataclass(frozen=True)
class MotionNoise:
    """Process-noise densities of the two modes (SI units).

    q_vel_m2_s3: white acceleration density on velocity in both modes (model error, thin-air drag).
    q_jerk_m2_s5: white jerk density driving the boost specific force (thrust changes, staging).
    sigma_force_ballistic_mps2: spread left on the (zero) specific force in ballistic mode, so that
    the mixed covariance stays positive definite.
    """

    q_vel_m2_s3: float = 0.01
    q_jerk_m2_s5: float = 20.0
    sigma_force_ballistic_mps2: float = 0.05


@dataclass(frozen=True)
class RadarSites:
    """Radar sites as arrays indexed by the tracker's sensor index (SI units, radians).

    pos_ecef_m (S, 3), rot_enu (S, 3, 3) (v_enu = rot @ v_ecef), noise sigmas (S,), revisit_s (S,),
    max_range_m (S,), min_el_rad (S,), p_detect (S,).
    """

    pos_ecef_m: NDArray
    rot_enu: NDArray
    sigma_range_m: NDArray
    sigma_az_rad: NDArray
    sigma_el_rad: NDArray
    revisit_s: NDArray
    max_range_m: NDArray
    min_el_rad: NDArray
    p_detect: NDArray

    @classmethod
    def from_arrays(cls, lat_rad, lon_rad, alt_m, sigma_range_m, sigma_az_rad, sigma_el_rad,
                    revisit_s, max_range_m, min_el_rad, p_detect) -> RadarSites:
        """Build from per-sensor geodetic sites (rad, m) and sensor parameters (SI units)."""
        return cls(
            pos_ecef_m=geodetic_to_ecef(lat_rad, lon_rad, alt_m).reshape(-1, 3),
            rot_enu=enu_rotation(lat_rad, lon_rad).reshape(-1, 3, 3),
            sigma_range_m=np.asarray(sigma_range_m, float).ravel(),
            sigma_az_rad=np.asarray(sigma_az_rad, float).ravel(),
            sigma_el_rad=np.asarray(sigma_el_rad, float).ravel(),
            revisit_s=np.asarray(revisit_s, float).ravel(),
            max_range_m=np.asarray(max_range_m, float).ravel(),
            min_el_rad=np.asarray(min_el_rad, float).ravel(),
            p_detect=np.asarray(p_detect, float).ravel(),
        )


def radar_predict(pos_ecef_m: NDArray, site: NDArray, rot_enu: NDArray) -> tuple[NDArray, NDArray]:
    """Predicted radar measurement (..., 3) [range m, az rad, el rad] and its Jacobian (..., 3, 9).

    pos_ecef_m (..., 3) are target positions, site (..., 3) ECEF sites, rot_enu (..., 3, 3) their ENU
    rotations.
    """
    d = np.einsum("...ij,...j->...i", rot_enu, pos_ecef_m - site)
    e, n, u = d[..., 0], d[..., 1], d[..., 2]
    rho2 = e * e + n * n
    rho = np.sqrt(rho2)
    r2 = rho2 + u * u
    rng = np.sqrt(r2)
    az = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    el = np.arctan2(u, rho)
    z = np.stack([rng, az, el], axis=-1)
    j_enu = np.empty((*d.shape[:-1], 3, 3))
    j_enu[..., 0, :] = d / rng[..., None]
    j_enu[..., 1, 0] = n / rho2
    j_enu[..., 1, 1] = -e / rho2
    j_enu[..., 1, 2] = 0.0
    j_enu[..., 2, 0] = -e * u / (r2 * rho)
    j_enu[..., 2, 1] = -n * u / (r2 * rho)
    j_enu[..., 2, 2] = rho / r2
    h = np.zeros((*d.shape[:-1], 3, STATE_DIM))
    h[..., :, 0:3] = j_enu @ rot_enu
    return z, h


def radar_residual(z_meas: NDArray, z_pred: NDArray) -> NDArray:
    """Innovation z_meas - z_pred (..., 3) with the azimuth difference wrapped into [-pi, pi)."""
    nu = z_meas - z_pred
    nu[..., 1] = np.mod(nu[..., 1] + np.pi, 2.0 * np.pi) - np.pi
    return nu


def radar_to_ecef(z: NDArray, site: NDArray, rot_enu: NDArray, sigma: NDArray) -> tuple[NDArray, NDArray]:
    """Radar measurements (..., 3) [range, az, el] to ECEF positions (..., 3) and covariances (..., 3, 3).

    sigma (..., 3) are the range (m), azimuth and elevation (rad) standard deviations.
    """
    rng, az, el = z[..., 0], z[..., 1], z[..., 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    enu = np.stack([rng * ce * sa, rng * ce * ca, rng * se], axis=-1)
    pos = site + np.einsum("...ji,...j->...i", rot_enu, enu)
    j = np.empty((*z.shape[:-1], 3, 3))
    j[..., 0, 0], j[..., 0, 1], j[..., 0, 2] = ce * sa, rng * ce * ca, -rng * se * sa
    j[..., 1, 0], j[..., 1, 1], j[..., 1, 2] = ce * ca, -rng * ce * sa, -rng * se * ca
    j[..., 2, 0], j[..., 2, 1], j[..., 2, 2] = se, 0.0, rng * ce
    j_ecef = np.swapaxes(rot_enu, -1, -2) @ j
    cov = (j_ecef * (sigma**2)[..., None, :]) @ np.swapaxes(j_ecef, -1, -2)
    return pos, cov


def los_basis(los_ecef: NDArray) -> NDArray:
    """Two unit vectors (..., 2, 3) orthogonal to each unit line of sight (..., 3) and to each other."""
    m = np.asarray(los_ecef, float)
    helper = np.where(np.abs(m[..., 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    u1 = np.cross(helper, m)
    u1 /= np.linalg.norm(u1, axis=-1, keepdims=True)
    u2 = np.cross(m, u1)
    return np.stack([u1, u2], axis=-2)


def los_predict(pos_ecef_m: NDArray, platform_ecef_m: NDArray, los_ecef: NDArray) -> tuple[NDArray, NDArray]:
    """Gnomonic coordinates (..., 2) (rad for small angles) of targets about a measured line of sight.

    The measurement itself is (0, 0) in these coordinates; returns the prediction and its Jacobian
    (..., 2, 9) with respect to the state.
    """
    basis = los_basis(los_ecef)
    d = pos_ecef_m - platform_ecef_m
    w = np.einsum("...i,...i->...", los_ecef, d)
    b = np.einsum("...ki,...i->...k", basis, d)
    z = b / w[..., None]
    h = np.zeros((*d.shape[:-1], 2, STATE_DIM))
    h[..., :, 0:3] = (basis - z[..., :, None] * los_ecef[..., None, :]) / w[..., None, None]
    return z, h
