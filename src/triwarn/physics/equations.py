"""The equations of free flight over the rotating Earth, written once: J2 gravity with the Coriolis and
centrifugal terms of a frame turning about +z, and the Jacobian of that acceleration with respect to
position. Every integrator in triwarn takes its acceleration from here:

- the truth generator, in plain floats (`physics.motion.coast_accel`) and on numpy arrays
  (`physics.dynamics.ballistic_accel_ecef`, `gravity_j2_ecef`, `gravity_gradient_ecef`);
- the batch propagator of impact prediction, on component rows (`assess.flight`);
- the tracker's numba kernels (`tracking.imm_ekf` compiles these very functions with `numba.njit`).

So that one body serves all three, the functions take and return components (x, y, z, ...) rather than
vectors, use only arithmetic, and take square roots as `** 0.5`: on Python floats that is C's pow, on a
numpy array numpy turns it into its sqrt loop, and numba compiles it to the sqrt instruction. They call
no other function (numba could not call a plain Python function), and import nothing but constants, so
`physics` does not pay numba's import.

Editing this file: numba's own cache key does not cover it; tracking/kernel_cache.py clears the tracker
kernels' cache when this file changes (they recompile once, with a notice).

Frame: ECEF (WGS84), positions m, velocities m/s, accelerations m/s^2. `omega` (rad/s) is the frame's
rotation rate; omega = 0 gives gravity alone (the inertial-frame acceleration).
"""

from __future__ import annotations

from triwarn.geo.wgs84 import A_M, GM_M3_S2, J2, OMEGA_RAD_S

K_J2_M2 = 1.5 * J2 * A_M * A_M  # (3/2) J2 a^2


def free_flight_accel(x, y, z, vx, vy, omega=OMEGA_RAD_S):
    """Acceleration (ax, ay, az) of an unpowered, drag-free object in the frame rotating at omega.

    g = -mu r / r^3 [1 + k (c - 5 z^2 / r^2)] with k = (3/2) J2 a^2 / r^2, c = 1 on x and y and 3 on z,
    plus -2 w x v (Coriolis) and -w x (w x r) (centrifugal) for w = (0, 0, omega). vz does not enter.
    Components may be floats or numpy arrays of one shape (or broadcastable).
    """
    r2 = x * x + y * y + z * z
    mu_r3 = GM_M3_S2 / (r2 * r2**0.5)
    k = K_J2_M2 / r2
    k5 = 5.0 * k * (z * z) / r2
    fxy = omega * omega - mu_r3 * (1.0 + k - k5)
    return (fxy * x + (2.0 * omega) * vy,
            fxy * y - (2.0 * omega) * vx,
            -mu_r3 * (1.0 + 3.0 * k - k5) * z)


def free_flight_gradient(x, y, z, omega=OMEGA_RAD_S):
    """d(free_flight_accel)/d(position) (1/s^2): the six entries (xx, xy, xz, yy, yz, zz) of the
    symmetric 3x3 matrix, the analytic J2 gravity gradient plus the centrifugal omega^2 on xx and yy.

    With g_i = -mu x_i h_i, h_i = r^-3 + k c_i r^-5 - 5 k z^2 r^-7 (k = (3/2) J2 a^2 here):
    dg_i/dx_j = -mu (delta_ij h_i + x_i dh_i/dx_j), dh_i/dx_j = x_j e_i - 10 k z r^-7 delta_jz,
    e_i = -3 r^-5 - 5 k c_i r^-7 + 35 k z^2 r^-9. (The velocity part, the Coriolis matrix, is constant.)
    """
    r2 = x * x + y * y + z * z
    inv_r3 = 1.0 / (r2 * r2**0.5)
    inv_r5 = inv_r3 / r2
    inv_r7 = inv_r5 / r2
    inv_r9 = inv_r7 / r2
    kz2_r7 = 5.0 * K_J2_M2 * z * z * inv_r7
    h1 = inv_r3 + K_J2_M2 * inv_r5 - kz2_r7
    h3 = inv_r3 + 3.0 * K_J2_M2 * inv_r5 - kz2_r7
    e1 = -3.0 * inv_r5 - 5.0 * K_J2_M2 * inv_r7 + 35.0 * K_J2_M2 * z * z * inv_r9
    k10_r7 = 10.0 * K_J2_M2 * inv_r7
    e3 = e1 - k10_r7  # e_z, and also dh_x/dz / z
    w2 = omega * omega
    gxx = w2 - GM_M3_S2 * (h1 + x * x * e1)
    gyy = w2 - GM_M3_S2 * (h1 + y * y * e1)
    gxy = -GM_M3_S2 * x * y * e1
    gxz = -GM_M3_S2 * x * z * e3
    gyz = -GM_M3_S2 * y * z * e3
    gzz = -GM_M3_S2 * (h3 + z * z * (e3 - k10_r7))
    return gxx, gxy, gxz, gyy, gyz, gzz
