"""Launch point and time by flying a track back to the ground, with Monte-Carlo uncertainty.

A boosting object is flown backwards as a gravity turn: thrust along the Earth-relative velocity, of a
magnitude that follows a constant-thrust, constant-mass-flow rocket, a_T(t) = c / (t_empty - t), with
the exhaust speed c drawn from 2.0-5.0 km/s and today's thrust acceleration taken from the track (its
velocity change minus gravity and frame terms). Going back the thrust falls and the velocity turns
upward; the launch is where the path meets the ground or the speed falls below 50 m/s (lift-off).

A track first seen in free flight carries no thrust information. It is flown back in free flight to a
burnout height drawn from 20-1000 km (below where it was first seen) on the ascending branch, then
backwards as a gravity turn with a burnout thrust acceleration drawn from 20-120 m/s^2. The spread is
wide, mostly along the flight's direction: where and when the boost ended is unknown. If it climbs below
100 km it may still be boosting (its fused mode read ballistic): 25% of its samples (90% below 1.5 km/s) are
flown back under power from the start, at a mid-burn 15-60 m/s^2, without staging.

A sample is kept when it starts as a rocket does: near the ground, slowly, at a lift-off thrust of
10-40 m/s^2. The gravity turn has no vertical rise, so it mostly comes to rest a few km up: a drawn share
(0-1) of the climb from the ground at a_T - g is added to its time (_rise_s).

Each track's samples (its state drawn from its covariance, and the model parameters) move together:
one vectorised loop over all samples of all tracks. The spread of the samples' launch points in the local
east/north plane gives the 95% ellipse, with a floor for model error larger along the direction flown back
than across it (docs/assessment.md). bench/bench_launch.py measures the coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.assess.impact import ellipse_axes
from triwarn.fusion.predictor import covariance_sqrt
from triwarn.geo.frames import ecef_to_enu, ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from triwarn.physics.dynamics import approx_alt_m, ballistic_accel_ecef

# Effective exhaust speed c = a_T (t_empty - t): 2.0-3.2 km/s for real motors, but a vehicle that reaches its
# apogee with shorter burns than assumed (the physics solver scales the thrust of generic classes, up to
# c ~ 4.3 km/s for the 2022-10-04 IRBM's first stage) needs more: 2.0-5.0 km/s.
EXHAUST_SPEED_MPS = (2000.0, 5000.0)
# Burnout priors for a track first seen in free flight: wide enough to hold an SRBM (burnout ~30 km,
# ~80 m/s^2), an IRBM (~270 km) and a lofted ICBM (~800 km, ~55 m/s^2). The narrower 40-250 km and
# 25-80 m/s^2 used before left those outside and biased the estimate by 17-75 km (bench/bench_launch.py).
BURNOUT_ALT_M = (20e3, 1000e3)
BURNOUT_ACCEL_MPS2 = (20.0, 120.0)
LIFTOFF_SPEED_MPS = 50.0
# Thrust acceleration a sample's motor must have at lift-off (tiers 0-1): a rocket leaves the pad at 1-4 g of
# thrust (the solver's flights: 20-33 m/s^2 from SRBM to ICBM); a sample flown back from a burnout-like
# 100 m/s^2 otherwise "lifts off" at 50-100 m/s^2, too soon.
LIFTOFF_ACCEL_MPS2 = (10.0, 40.0)
G0_MPS2 = 9.80665
# The vertical rise a sample's flight back leaves out (_rise_s): at most from 10 km, at >= 3 m/s^2 net.
MIN_NET_ACCEL_MPS2 = 3.0
RISE_MAX_ALT_M = 10e3
# (height m, speed m/s, whether the lift-off thrust test applies) at which a backtracked sample may start,
# strictest first.
START_TIERS = ((10e3, 600.0, True), (30e3, 1500.0, True), (80e3, 3000.0, False), (np.inf, np.inf, False))
STAGING_PROBABILITY = 0.5
# A track with no thrust measured that climbs below 100 km may still be boosting: a fused track's mode reads
# ballistic for its first states (2022-10-04 IRBM first seen at T+54 s, 25 km, 1.2 km/s; 2023-08-24 SLV at
# T+89 s, 19 km, 0.5 km/s). Flown back only as free flight from there, the launch came out 26 s and 55 s
# late (4-5.5 sigma). That share of its samples is flown back under power from the start: a quarter, or 90% when
# slower than 1.5 km/s (no missile the solver flies burns out that slowly: an SRBM's burnout is ~2 km/s).
UNSEEN_BOOST_PROBABILITY = 0.25
UNSEEN_BOOST_SLOW_MPS = 1500.0
UNSEEN_BOOST_PROBABILITY_SLOW = 0.9
UNSEEN_BOOST_MAX_ALT_M = 100e3
UNSEEN_BOOST_ACCEL_MPS2 = (15.0, 60.0)  # a first stage mid-burn (the solver's: 25-55 m/s^2 at 50-100 s)
LOWER_STAGE_ACCEL_MPS2 = (30.0, 120.0)
STEP_POWERED_S = 2.0
STEP_FREE_S = 10.0
MAX_BACK_S = 4000.0
# Model-error floor added to the sample spread: the gravity turn ignores the pitch programme and staging.
FLOOR_M = 3000.0
# Fractions of the ground distance flown back, along the flight's direction (boosting track, track first
# seen in free flight) and across it: model error moves the launch point mostly along track. A boosting
# track late in its first stage is where the gravity turn errs most (20-28% of the distance flown back
# for the simulated IRBM at 110-120 s, whose pitch programme holds a fixed elevation, not the velocity).
FLOOR_FRACTION = 0.10
FLOOR_FRACTION_FREE = 0.05  # the burnout priors' spread already dominates
FLOOR_FRACTION_CROSS = 0.01
FLOOR_TIME_S = 5.0
# A boosting track whose samples had to be let start less like a rocket (tier > 0) fits the model badly:
# its floors grow by TIER_WIDEN per tier and TIER_TIME_FRACTION of the backtracked time joins its time
# sigma. A track first seen in free flight nearly always needs tier 1-3 (the burnout priors are wide and
# the gravity turn is crude), and its sample spread already spans them: no widening, a smaller time term.
TIER_WIDEN = 1.0
TIER_TIME_FRACTION = 0.5
TIER_TIME_FRACTION_FREE = 0.1

METHOD_POWERED = "powered_backtrack"
METHOD_BALLISTIC = "ballistic_backtrack"


@dataclass
class LaunchBatch:
    """Estimated launch of N tracks: point (deg), time (unix s), 95% ellipse (m, deg from north)."""

    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    time_unix_s: NDArray[np.float64]
    time_sigma_s: NDArray[np.float64]
    semi_major_m: NDArray[np.float64]
    semi_minor_m: NDArray[np.float64]
    orientation_deg: NDArray[np.float64]
    method: NDArray[np.str_]
    ok: NDArray[np.bool_]  # False where too few samples reached the ground
    tier: NDArray[np.int_]  # 0: samples start like a rocket; higher: the start test had to be relaxed


def _accel(pos, vel, thrust_mps2):
    speed = np.linalg.norm(vel, axis=-1, keepdims=True)
    return ballistic_accel_ecef(pos, vel) + thrust_mps2[:, None] * vel / np.maximum(speed, 1e-6)


def _thrust(powered, c, a_now, tau_s, tau_stage, a_lower):
    # tau_s: time flown back under power (>= 0). Within the present stage a_T = c / (c / a_now + tau);
    # before a staging tau_stage back, the lower stage's profile, a_lower at its burnout.
    tau = np.maximum(tau_s, 0.0)
    upper = c / (c / a_now + tau)
    lower = c / (c / a_lower + np.maximum(tau - tau_stage, 0.0))
    return np.where(powered, np.where(tau < tau_stage, upper, lower), 0.0)


@dataclass
class _Samples:
    """The Monte-Carlo samples of N tracks (M each, flattened to N*M): state drawn from each track's
    covariance, and the model parameters (see the module doc)."""

    pos: NDArray[np.float64]  # (N*M, 3) ECEF, m
    vel: NDArray[np.float64]  # (N*M, 3) ECEF, m/s
    boosting: NDArray[np.bool_]  # the track measured thrust now
    exhaust_mps: NDArray[np.float64]  # c
    accel_now_mps2: NDArray[np.float64]  # thrust acceleration now (boosting) or at burnout (free flight)
    tau_stage_s: NDArray[np.float64]  # time back under power to a staging (inf: none)
    accel_lower_mps2: NDArray[np.float64]  # the lower stage's thrust acceleration at its burnout
    burnout_alt_m: NDArray[np.float64]  # where a track first seen in free flight starts its powered leg
    rise_fraction: NDArray[np.float64]  # share of the vertical rise's time counted (see _rise_s)


def _draw_samples(state: NDArray[np.float64], cov: NDArray[np.float64], a_meas: NDArray[np.float64],
                  rng: np.random.Generator, m: int) -> _Samples:
    n = state.shape[0]
    z = rng.standard_normal((n, m, 6))
    draws = state[:, None, :] + np.einsum("nij,nmj->nmi", covariance_sqrt(cov), z)
    p = draws[..., :3].reshape(-1, 3)
    v = draws[..., 3:].reshape(-1, 3)
    boosting = np.repeat(np.isfinite(a_meas), m)
    c = rng.uniform(*EXHAUST_SPEED_MPS, n * m)
    a_now = np.where(
        boosting,
        np.repeat(np.nan_to_num(a_meas, nan=1.0), m) * rng.normal(1.0, 0.15, n * m).clip(0.5, 1.5),
        rng.uniform(*BURNOUT_ACCEL_MPS2, n * m),
    )
    # Whether, and how long ago, the present stage lit is unknown: half the samples assume one staging
    # within the last 200 s of powered flight, with the lower stage ending at 30-120 m/s^2.
    staged = rng.random(n * m) < STAGING_PROBABILITY
    tau_stage = np.where(staged, rng.uniform(0.0, 200.0, n * m), np.inf)
    a_lower = rng.uniform(*LOWER_STAGE_ACCEL_MPS2, n * m)
    # Boosting though no thrust was measured (UNSEEN_BOOST_*). Above 100 km a boost and a coast cannot be told
    # apart from one state, and the free-flight model serves lofted ICBMs better there.
    alt_first = approx_alt_m(p)
    h_burnout = rng.uniform(BURNOUT_ALT_M[0], np.maximum(np.minimum(BURNOUT_ALT_M[1], alt_first - 1e3),
                                                         BURNOUT_ALT_M[0] + 1.0))
    climbing = np.einsum("ki,ki->k", p, v) > 0.0
    unseen = (~boosting & climbing & (alt_first < UNSEEN_BOOST_MAX_ALT_M)
              & (rng.random(n * m) < np.where(np.linalg.norm(v, axis=-1) < UNSEEN_BOOST_SLOW_MPS,
                                               UNSEEN_BOOST_PROBABILITY_SLOW, UNSEEN_BOOST_PROBABILITY)))
    # Mid-boost, not at burnout: the burnout prior's 120 m/s^2 would make the motor too young.
    a_now = np.where(unseen, rng.uniform(*UNSEEN_BOOST_ACCEL_MPS2, n * m), a_now)
    tau_stage = np.where(unseen, np.inf, tau_stage)  # below 100 km: the first stage
    boosting = boosting | unseen
    return _Samples(p, v, boosting, c, a_now, tau_stage, a_lower, h_burnout, rng.uniform(0.0, 1.0, n * m))


@dataclass
class _FlownBack:
    """Where each sample's backward flight ended: position, time flown back (s), height and speed at the
    end, and whether it was lost (flown back too long, or reached the ground unpowered)."""

    pos: NDArray[np.float64]
    back_s: NDArray[np.float64]
    end_alt_m: NDArray[np.float64]
    end_speed_mps: NDArray[np.float64]
    end_thrust_mps2: NDArray[np.float64]  # the motor's thrust acceleration where the flight back ended
    lost: NDArray[np.bool_]


def _fly_back(s: _Samples) -> _FlownBack:
    """Free flight back to the burnout height on the ascending branch, then power; RK4 with negative steps."""
    p, v = s.pos.copy(), s.vel.copy()
    k = p.shape[0]
    powered = s.boosting.copy()
    tau_powered = np.zeros(k)  # time flown back under power so far
    back = np.zeros(k)  # total time flown back
    done = np.zeros(k, bool)
    lost = np.zeros(k, bool)
    end_alt = np.zeros(k)
    end_speed = np.zeros(k)
    end_thrust = np.zeros(k)
    while not np.all(done):
        a = np.flatnonzero(~done)
        pa, va, pw = p[a], v[a], powered[a]
        h = np.where(pw, STEP_POWERED_S, STEP_FREE_S)
        tau = tau_powered[a]
        ca, an, ts, al = s.exhaust_mps[a], s.accel_now_mps2[a], s.tau_stage_s[a], s.accel_lower_mps2[a]
        k1v = _accel(pa, va, _thrust(pw, ca, an, tau, ts, al))
        k1p = va
        p2, v2 = pa - 0.5 * h[:, None] * k1p, va - 0.5 * h[:, None] * k1v
        k2v = _accel(p2, v2, _thrust(pw, ca, an, tau + 0.5 * h, ts, al))
        p3, v3 = pa - 0.5 * h[:, None] * v2, va - 0.5 * h[:, None] * k2v
        k3v = _accel(p3, v3, _thrust(pw, ca, an, tau + 0.5 * h, ts, al))
        p4, v4 = pa - h[:, None] * v3, va - h[:, None] * k3v
        k4v = _accel(p4, v4, _thrust(pw, ca, an, tau + h, ts, al))
        pn = pa - h[:, None] / 6.0 * (k1p + 2 * v2 + 2 * v3 + v4)
        vn = va - h[:, None] / 6.0 * (k1v + 2 * k2v + 2 * k3v + k4v)
        alt_old, alt_new = approx_alt_m(pa), approx_alt_m(pn)
        ascending_fwd = np.einsum("ki,ki->k", vn, pn) > 0.0
        # The free-flight leg ends on reaching the burnout height while climbing (in forward time).
        switch = ~pw & ascending_fwd & (alt_new <= s.burnout_alt_m[a])
        landed = alt_new <= 0.0
        lift_off = pw & (np.linalg.norm(vn, axis=-1) < LIFTOFF_SPEED_MPS)
        # Where the ground is crossed, stop at the crossing by linear interpolation in height.
        frac = np.where(landed, alt_old / np.maximum(alt_old - alt_new, 1e-9), 1.0)[:, None]
        p[a] = pa + frac * (pn - pa)
        v[a] = va + frac * (vn - va)
        back[a] += frac[:, 0] * h
        tau_powered[a] = np.where(pw, tau + h, tau)
        powered[a] = pw | switch
        stop = landed | lift_off | (back[a] > MAX_BACK_S)
        # A sample is kept only if it starts as a rocket does: from the ground, slowly. One at rest high in
        # the air, or reaching the ground fast or unpowered, had the wrong model parameters.
        end_alt[a] = np.where(stop, np.maximum(approx_alt_m(p[a]), 0.0), end_alt[a])
        end_speed[a] = np.where(stop, np.linalg.norm(v[a], axis=-1), end_speed[a])
        end_thrust[a] = np.where(stop, _thrust(pw, ca, an, tau + frac[:, 0] * h, ts, al), end_thrust[a])
        lost[a] = (back[a] > MAX_BACK_S) | (landed & ~pw & ~switch)
        done[a] = stop
    return _FlownBack(p, back, end_alt, end_speed, end_thrust, lost)


def _rise_s(flown: _FlownBack, fraction: NDArray[np.float64]) -> NDArray[np.float64]:
    """Time (s) a sample's motor took to climb from the ground to where its flight back came to rest. The
    gravity turn flown back has no vertical rise: slowed to lift-off speed it mostly stops 3-10 km up
    (the start test's tier 0 allows 10 km), and counting that climb as zero made the launch of an IRBM or
    ICBM first seen late in its boost 10-25 s late. From rest at the net acceleration a_T - g that climb
    takes sqrt(2 h / (a_T - g)) (height capped at 10 km), but a short-burning SRBM turns over early and
    climbs those km in the flight back already (counting it all made it 12 s early): each sample counts a
    fraction of it drawn from 0-1, and the spread carries that doubt into the time sigma."""
    net = np.maximum(flown.end_thrust_mps2 - G0_MPS2, MIN_NET_ACCEL_MPS2)
    return fraction * np.sqrt(2.0 * np.minimum(flown.end_alt_m, RISE_MAX_ALT_M) / net)


def _start_tiers(flown: _FlownBack, n: int, m: int) -> tuple[NDArray[np.bool_], NDArray[np.int_]]:
    """(N, M) samples kept, and each track's tier. Kept: the samples that start as a rocket does, from
    the ground, slowly. One at rest high in the air or reaching the ground fast had the wrong model
    parameters. Where no sample passes, the test is relaxed step by step (the estimate is then flagged by
    a larger spread and `tier` > 0)."""
    lost = flown.lost.reshape(n, m)
    end_alt, end_speed = flown.end_alt_m.reshape(n, m), flown.end_speed_mps.reshape(n, m)
    end_thrust = flown.end_thrust_mps2.reshape(n, m)
    lifts = (end_thrust >= LIFTOFF_ACCEL_MPS2[0]) & (end_thrust <= LIFTOFF_ACCEL_MPS2[1])
    good = np.zeros((n, m), bool)
    tier = np.full(n, len(START_TIERS))
    for k, (max_alt, max_speed, thrust_test) in reversed(list(enumerate(START_TIERS))):
        passing = ~lost & (end_alt <= max_alt) & (end_speed <= max_speed) & (lifts | (not thrust_test))
        enough = passing.sum(axis=1) >= max(10, m // 20)
        good = np.where(enough[:, None], passing, good)
        tier = np.where(enough, k, tier)
    return good, tier


def _summarise(t0: NDArray[np.float64], pos: NDArray[np.float64], a_meas: NDArray[np.float64],
               flown: _FlownBack, rise_s: NDArray[np.float64], good: NDArray[np.bool_],
               tier: NDArray[np.int_]) -> LaunchBatch:
    """The kept samples' mean launch point on the ellipsoid and time, and their east/north and time spread
    about it, with the model-error floors."""
    n, m = good.shape
    lat, lon, _ = ecef_to_geodetic(flown.pos)
    lat, lon = lat.reshape(n, m), lon.reshape(n, m)
    t_launch = t0[:, None] - (flown.back_s + rise_s).reshape(n, m)
    ok = tier < len(START_TIERS)
    ground = geodetic_to_ecef(lat, lon, 0.0)
    w = good / np.maximum(good.sum(axis=1, keepdims=True), 1)
    centre = np.einsum("nm,nmi->ni", w, ground)
    c_lat, c_lon, _ = ecef_to_geodetic(centre)
    en = ecef_to_enu(ground, c_lat[:, None], c_lon[:, None], 0.0)[..., :2]
    cov_en = np.einsum("nm,nmi,nmj->nij", w, en, en)
    t_mean = np.einsum("nm,nm->n", w, np.where(good, t_launch, 0.0))
    t_var = np.einsum("nm,nm->n", w, np.where(good, t_launch - t_mean[:, None], 0.0) ** 2)
    # Model-error floor, growing with the ground distance flown back.
    start_en = np.einsum("nij,nj->ni", enu_rotation(c_lat, c_lon), pos - geodetic_to_ecef(c_lat, c_lon, 0.0))
    flown_m = np.hypot(start_en[:, 0], start_en[:, 1])
    # A relaxed start test (tier > 0) on a boosting track means the model fits badly: widen its floors.
    was_boosting = np.isfinite(a_meas)
    widen = 1.0 + np.where(was_boosting, TIER_WIDEN, 0.0) * np.minimum(tier, len(START_TIERS) - 1)
    along = start_en[:, :2] / np.maximum(flown_m, 1.0)[:, None]
    floor_cross = (FLOOR_M * widen) ** 2 + (FLOOR_FRACTION_CROSS * widen * flown_m) ** 2
    floor_along = (FLOOR_M * widen) ** 2 + (np.where(was_boosting, FLOOR_FRACTION, FLOOR_FRACTION_FREE)
                                            * widen * flown_m) ** 2
    cov_en = (cov_en + floor_cross[:, None, None] * np.eye(2)
              + (floor_along - floor_cross)[:, None, None] * np.einsum("ni,nj->nij", along, along))
    semi_major, semi_minor, orientation = ellipse_axes(cov_en)
    back_mean = t0 - t_mean
    t_var = t_var + FLOOR_TIME_S**2 + np.where(
        tier > 0, (np.where(was_boosting, TIER_TIME_FRACTION, TIER_TIME_FRACTION_FREE) * back_mean) ** 2, 0.0)
    return LaunchBatch(
        lat_deg=np.degrees(c_lat), lon_deg=np.mod(np.degrees(c_lon) + 180.0, 360.0) - 180.0,
        time_unix_s=t_mean, time_sigma_s=np.sqrt(t_var), semi_major_m=semi_major,
        semi_minor_m=semi_minor, orientation_deg=orientation,
        method=np.where(np.isfinite(a_meas), METHOD_POWERED, METHOD_BALLISTIC), ok=ok, tier=tier,
    )


def estimate_launch(
    t_unix_s: ArrayLike,
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    cov_ecef_m2: ArrayLike,
    thrust_accel_mps2: ArrayLike,
    rng: np.random.Generator | None = None,
    n_samples: int = 200,
) -> LaunchBatch:
    """Estimate where and when N tracks were launched.

    States (N, 3) + (N, 3) ECEF at t_unix_s (N,), covariances (N, 6, 6); thrust_accel_mps2 (N,) is the
    thrust acceleration measured now for a boosting track, or NaN for one first seen in free flight.
    """
    rng = rng if rng is not None else np.random.default_rng()
    t0 = np.asarray(t_unix_s, float).reshape(-1)
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    vel = np.asarray(vel_ecef_mps, float).reshape(-1, 3)
    cov = np.asarray(cov_ecef_m2, float).reshape(-1, 6, 6)
    a_meas = np.asarray(thrust_accel_mps2, float).reshape(-1)
    n, m = pos.shape[0], n_samples
    samples = _draw_samples(np.concatenate([pos, vel], axis=-1), cov, a_meas, rng, m)
    flown = _fly_back(samples)
    good, tier = _start_tiers(flown, n, m)
    return _summarise(t0, pos, a_meas, flown, _rise_s(flown, samples.rise_fraction), good, tier)
