"""Equations of motion of an unpowered object in the rotating Earth-fixed (ECEF) frame.

State layout everywhere: position (m) and velocity (m/s) in ECEF, arrays of shape (..., 3).
Accelerations include J2 gravity and the Coriolis and centrifugal terms of the rotating frame (written
once, in `physics.equations`, and laid out here on (..., 3) arrays), and drag in an exponential
atmosphere for a ballistic coefficient beta = m / (Cd A) in kg/m^2 (inf: no drag).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.geo.wgs84 import A_M, OMEGA_RAD_S
from triwarn.physics.equations import free_flight_accel, free_flight_gradient

OMEGA_VEC = np.array([0.0, 0.0, OMEGA_RAD_S])
RHO0_KG_M3 = 1.225  # sea-level density
SCALE_HEIGHT_M = 7200.0  # a single scale height; good to a factor ~2 up to 100 km, negligible above


def air_density_kg_m3(alt_m: ArrayLike) -> NDArray[np.float64]:
    """Exponential atmosphere density (kg/m^3) at geodetic height alt_m (m); clipped below sea level."""
    alt = np.maximum(np.asarray(alt_m, float), 0.0)
    return RHO0_KG_M3 * np.exp(-alt / SCALE_HEIGHT_M)


def _rows(a: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    r = np.asarray(a, float)
    return r[..., 0], r[..., 1], r[..., 2]


def _stack(parts) -> NDArray[np.float64]:
    return np.stack(np.broadcast_arrays(*parts), axis=-1)


def gravity_j2_ecef(pos_ecef_m: ArrayLike) -> NDArray[np.float64]:
    """Gravitational acceleration (m/s^2) of the J2 Earth at ECEF positions (..., 3): the inertial part
    (omega = 0) of `equations.free_flight_accel`."""
    x, y, z = _rows(pos_ecef_m)
    return _stack(free_flight_accel(x, y, z, 0.0, 0.0, omega=0.0))


def gravity_gradient_ecef(pos_ecef_m: ArrayLike, omega: float = 0.0) -> NDArray[np.float64]:
    """Analytic Jacobian (1/s^2), shape (..., 3, 3), of `gravity_j2_ecef` at ECEF positions (..., 3);
    with omega = OMEGA_RAD_S, of gravity plus the centrifugal term (`equations.free_flight_gradient`)."""
    xx, xy, xz, yy, yz, zz = free_flight_gradient(*_rows(pos_ecef_m), omega=omega)
    return np.stack([np.stack([xx, xy, xz], axis=-1), np.stack([xy, yy, yz], axis=-1),
                     np.stack([xz, yz, zz], axis=-1)], axis=-2)


def frame_accel_ecef(pos_ecef_m: ArrayLike, vel_ecef_mps: ArrayLike) -> NDArray[np.float64]:
    """Coriolis plus centrifugal acceleration (m/s^2) in the ECEF frame rotating about +z: the part of
    `equations.free_flight_accel` that the rotation adds (for inspection; the integrators use the sum)."""
    x, y, z = _rows(pos_ecef_m)
    vx, vy, _ = _rows(vel_ecef_mps)
    rotating = free_flight_accel(x, y, z, vx, vy)
    inertial = free_flight_accel(x, y, z, 0.0, 0.0, omega=0.0)
    return _stack([a - b for a, b in zip(rotating, inertial, strict=True)])


def approx_alt_m(pos_ecef_m: ArrayLike) -> NDArray[np.float64]:
    """Height above the ellipsoid (m), cheap closed-form approximation (error < 30 m below 2000 km).

    Used only for drag, where a 30 m height error changes density by 0.4%.
    """
    from triwarn.geo.wgs84 import E2

    r = np.asarray(pos_ecef_m, float)
    rn = np.linalg.norm(r, axis=-1)
    sin2 = (r[..., 2] / rn) ** 2
    local_radius = A_M * np.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - sin2)))
    return rn - local_radius


def drag_accel_ecef(
    pos_ecef_m: ArrayLike, vel_ecef_mps: ArrayLike, beta_kg_m2: ArrayLike
) -> NDArray[np.float64]:
    """Drag acceleration (m/s^2) for a ballistic coefficient beta (kg/m^2); the air co-rotates with ECEF."""
    r = np.asarray(pos_ecef_m, float)
    v = np.asarray(vel_ecef_mps, float)
    beta = np.asarray(beta_kg_m2, float)
    rho = air_density_kg_m3(approx_alt_m(r))
    speed = np.linalg.norm(v, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(np.isfinite(beta), -0.5 * rho * speed / beta, 0.0)
    return k[..., None] * v


def ballistic_accel_ecef(
    pos_ecef_m: ArrayLike, vel_ecef_mps: ArrayLike, beta_kg_m2: ArrayLike = np.inf
) -> NDArray[np.float64]:
    """Total acceleration (m/s^2) of an unpowered object in ECEF: J2 gravity, frame terms and drag."""
    x, y, z = _rows(pos_ecef_m)
    vx, vy, _ = _rows(vel_ecef_mps)
    acc = _stack(free_flight_accel(x, y, z, vx, vy))
    if np.any(np.isfinite(beta_kg_m2)):
        acc = acc + drag_accel_ecef(pos_ecef_m, vel_ecef_mps, beta_kg_m2)
    return acc


def rk4_step(
    pos_ecef_m: NDArray, vel_ecef_mps: NDArray, dt_s: ArrayLike, beta_kg_m2: ArrayLike = np.inf
) -> tuple[NDArray, NDArray]:
    """One fourth-order Runge-Kutta step of free flight for any number of states at once.

    dt_s may be a scalar or one step per state (shape (...,)) so that tracks at different times can be
    advanced together.
    """
    dt = np.asarray(dt_s, float)[..., None] if np.ndim(dt_s) else float(dt_s)
    r0, v0 = pos_ecef_m, vel_ecef_mps
    a1 = ballistic_accel_ecef(r0, v0, beta_kg_m2)
    r1, v1 = r0 + 0.5 * dt * v0, v0 + 0.5 * dt * a1
    a2 = ballistic_accel_ecef(r1, v1, beta_kg_m2)
    r2, v2 = r0 + 0.5 * dt * v1, v0 + 0.5 * dt * a2
    a3 = ballistic_accel_ecef(r2, v2, beta_kg_m2)
    r3, v3 = r0 + dt * v2, v0 + dt * a3
    a4 = ballistic_accel_ecef(r3, v3, beta_kg_m2)
    pos = r0 + dt / 6.0 * (v0 + 2.0 * v1 + 2.0 * v2 + v3)
    vel = v0 + dt / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return pos, vel


def propagate(
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    dt_s: ArrayLike,
    beta_kg_m2: ArrayLike = np.inf,
    max_step_s: float = 5.0,
) -> tuple[NDArray, NDArray]:
    """Free flight of many states over dt_s (scalar or per state, may be negative) in RK4 sub-steps.

    Every state takes the same number of sub-steps (the largest |dt| sets it), each of its own length,
    so the whole batch advances in one vectorised loop.
    """
    pos = np.array(pos_ecef_m, float)
    vel = np.array(vel_ecef_mps, float)
    dt = np.asarray(dt_s, float)
    n_steps = max(1, int(np.ceil(np.max(np.abs(dt)) / max_step_s))) if dt.size else 1
    h = dt / n_steps
    for _ in range(n_steps):
        pos, vel = rk4_step(pos, vel, h, beta_kg_m2)
    return pos, vel
