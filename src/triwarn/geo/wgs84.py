"""WGS84 ellipsoid and Earth constants (SI units)."""

A_M = 6378137.0  # semi-major axis
F = 1.0 / 298.257223563  # flattening
B_M = A_M * (1.0 - F)  # semi-minor axis
E2 = F * (2.0 - F)  # first eccentricity squared
EP2 = E2 / (1.0 - E2)  # second eccentricity squared
GM_M3_S2 = 3.986004418e14  # gravitational parameter (EGM96/WGS84)
J2 = 1.08262982e-3  # second zonal harmonic (WGS84 EGM96, unnormalised)
OMEGA_RAD_S = 7.292115e-5  # Earth rotation rate
MEAN_RADIUS_M = 6371008.8  # mean radius, for spherical approximations only
