"""Probabilistic boost-phase warning: while an object is powered, the probability that it overflies or
strikes each area, from the class of vehicle its motion fits and where such vehicles burn out.

Why: the cut-off path (triwarn.assess.corridor) is certain but late: on an IRBM toward northern Japan
it reaches land about two minutes after launch, whoever sees the launch first. A probability can be
had from the first seconds of a track; J-Alert moved in 2023 to alerting once the predicted area
reaches a set probability. The cut-off path stays the certain floor; this is the earlier, uncertain
layer above it, and the warning stage acts on it only above its nation's threshold.

The model, vectorised over N tracks x M draws (numpy, no loop per draw):

1. **Class.** Each generic class (triwarn.physics.missiles plus a space launcher) has stage burn times
   and thrust accelerations. From the time since launch tau (the assessment's launch estimate) and the
   fused track's specific force along its velocity a_T (fusion.mode.thrust_along_velocity), the
   likelihood of class c is lognormal in a_T about the class's thrust acceleration at tau (the
   acceleration grows as propellant burns: a0 / (1 - (1 - 1/MR) s / burn_stage)), zero once tau is past
   the class's burn (plus BURN_SLACK_S) or the speed already above the class's band. Without tau or a_T
   only the speed bound applies. Posterior = prior x likelihood, normalised (uniform if none fits).
2. **Burnout draws.** Per draw: a class from the posterior; a burnout speed uniform in the class's band
   (burnout_speed_mps: what the minimum-energy range band of the class needs, round figures); with
   probability p_early_termination the motor stops early, at a speed uniform between now and that
   (November 2022: an ICBM's thrust ended short); never below the present speed. Where the track's own
   thrust is below coast_accel_mps2 (or fell below half its recent peak: the assessor's burnout cue)
   the motor is off: the draws burn out now, save p_restart of those whose class has a stage still to
   come at tau (a pause between stages). All but a share p_motor_on (the fused vote of the national
   trackers' boost probabilities: at burnout they turn ballistic before the fused mode does) burn out
   now as well. The flight-path angle at burnout is the present one less the gravity turn of the
   remaining burn (g cos(gamma) dt / v, times 0.5-2) and up to pitch_extra_deg (a lofted shot,
   climbing steeply, stays steep); the azimuth moves by a normal azimuth_sigma_deg. The remaining burn
   takes dv / a (a: the observed thrust or the class's), along which the object moves in a straight
   line from here (a few tens of km at most before it matters). With tau known, no draw gains more
   speed than its class's motor can still give: the remaining burn (class burn +- burn_spread, less
   tau) at the observed thrust, grown along the class's profile. So past a class's burn time its draws
   add nothing, and a single-stage shot that just burnt out stops gaining range in the draws at once.
3. **Propagate.** Every burnout state flies to the ground through assess.flight.fly_to_ground (the one
   free-flight equation, physics/equations.py), paths recorded; the ground tracks from the present
   position on are looked up against the areas: P(overflight) = share of draws over an area's land or
   territorial sea, P(impact) = share landing there.

Times unix s, ECEF metres and m/s, accelerations m/s^2.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.assess import areas as area_risk
from triwarn.assess.areas import AreaHit, AreaModel
from triwarn.assess.flight import fly_to_ground, ground_tracks
from triwarn.geo.frames import ecef_to_geodetic, enu_rotation
from triwarn.physics.missiles import CLASSES as PHYSICS_CLASSES
from triwarn.records.events import Flag

BOOST_RISK_FLAG = Flag.BOOST_RISK
# The threshold the warning stage should shelter at, per nation's policy (J-Alert's is the authority's
# own): chosen from bench/bench_mc.py (docs/warnings.md, "The trade"): the lowest that added a false
# shelter alert to at most 2 % of the family's flights ending at sea.
DEFAULT_ALERT_PROBABILITY = 0.9  # on AreaRisk events of this layer (the warning stage's own threshold)
BURN_SLACK_S = 15.0  # a class stays possible this long past its nominal burn (burn times vary)
ACCEL_LOG_SIGMA = 0.35  # spread of a class's thrust acceleration (lognormal), loads and motors vary


@dataclass(frozen=True)
class VehicleClass:
    """A generic powered vehicle: stage burns (s), mass ratios, thrust accelerations at ignition (m/s^2),
    the band of burnout speeds (m/s) and a prior weight."""

    name: str
    stage_burn_s: tuple[float, ...]
    stage_mass_ratio: tuple[float, ...]
    stage_accel0_mps2: tuple[float, ...]
    burnout_speed_mps: tuple[float, float]
    prior: float = 1.0

    @property
    def burn_s(self) -> float:
        return float(sum(self.stage_burn_s))

    def accel_at(self, tau_s: ArrayLike) -> NDArray[np.float64]:
        """Nominal thrust acceleration (m/s^2) at tau_s after launch (NaN past the burn)."""
        tau = np.asarray(tau_s, float)
        out = np.full(tau.shape, np.nan)
        start = 0.0
        for burn, mr, a0 in zip(self.stage_burn_s, self.stage_mass_ratio, self.stage_accel0_mps2, strict=True):
            s = tau - start
            here = (s >= 0.0) & (s <= burn)
            out = np.where(here, a0 / (1.0 - (1.0 - 1.0 / mr) * np.clip(s, 0.0, burn) / burn), out)
            start += burn
        return out


def _from_physics(name: str, band: tuple[float, float], prior: float) -> VehicleClass:
    c = PHYSICS_CLASSES[name]
    return VehicleClass(name, c.stage_burn_s, c.stage_mass_ratio, c.stage_accel0_mps2, band, prior)


# Burnout speed bands from the classes' minimum-energy range bands (1,000 / 3,000 / 5,500 km: about
# 3.0 / 4.9 / 6.1 km/s) up to the fastest sub-orbital burnout; a launcher goes to orbit (it may overfly).
# Priors: most launches in the public record of 2019-2023 were short-range (SRBM) shots; the longer
# classes and launchers far fewer (round weights, not a count).
VEHICLE_CLASSES: tuple[VehicleClass, ...] = (
    _from_physics("srbm", (1200.0, 3000.0), 3.0),
    _from_physics("mrbm", (3000.0, 4900.0), 1.0),
    _from_physics("irbm", (4900.0, 6100.0), 1.0),
    _from_physics("icbm", (6100.0, 7200.0), 1.0),
    VehicleClass("slv", (120.0, 130.0, 200.0), (3.0, 3.0, 2.5), (12.0, 10.0, 8.0), (7500.0, 7900.0), 0.3),
)


@dataclass(frozen=True)
class BoostRiskConfig:
    """n_draws per track; p_early_termination: chance that the motor stops short at a uniform speed;
    coast_accel_mps2: below this observed thrust the motor is off, and only the draws of a class with a
    stage still to come burn on, p_restart of them (a staging pause); pitch_extra_deg: pitch-over beyond
    the gravity turn; burn_spread: +-fraction by which a class's burn time varies; azimuth_sigma_deg: how
    far the azimuth still moves before burnout; max_time_s:
    flight horizon; trace_substeps: ground points per integration step."""

    n_draws: int = 40
    p_early_termination: float = 0.15
    p_restart: float = 0.8
    burn_spread: float = 0.2
    coast_accel_mps2: float = 3.0
    pitch_extra_deg: float = 3.0
    azimuth_sigma_deg: float = 2.0
    max_time_s: float = 1800.0
    trace_substeps: int = 6
    classes: tuple[VehicleClass, ...] = VEHICLE_CLASSES


def class_posterior(speed_mps: ArrayLike, tau_s: ArrayLike, thrust_mps2: ArrayLike,
                    classes: tuple[VehicleClass, ...] = VEHICLE_CLASSES) -> NDArray[np.float64]:
    """P(class) (N, C) of N powered objects from their speed (m/s), time since launch (s; NaN unknown)
    and specific force along the velocity (m/s^2; NaN unknown). See the module doc, step 1."""
    v = np.asarray(speed_mps, float).reshape(-1)
    tau = np.asarray(tau_s, float).reshape(-1)
    acc = np.asarray(thrust_mps2, float).reshape(-1)
    logp = np.zeros((v.size, len(classes)))
    by_speed = np.zeros((v.size, len(classes)))
    for k, c in enumerate(classes):
        lp = np.full(v.size, np.log(c.prior))
        lp = np.where(v > c.burnout_speed_mps[1], -np.inf, lp)
        by_speed[:, k] = lp
        known = np.isfinite(tau)
        lp = np.where(known & (tau > c.burn_s + BURN_SLACK_S), -np.inf, lp)
        nominal = c.accel_at(np.where(known, np.clip(tau, 0.0, c.burn_s), 0.0))
        use = known & np.isfinite(acc) & (acc > 1.0) & np.isfinite(nominal)
        z = np.log(np.where(use, acc, 1.0) / np.where(use, nominal, 1.0)) / ACCEL_LOG_SIGMA
        lp = lp - np.where(use, 0.5 * z * z, 0.0)
        logp[:, k] = lp
    # Nothing fits the time and thrust (a launch estimate off, a late track): the speed alone decides;
    # faster than every band: every class alike.
    logp = np.where(np.isfinite(logp.max(axis=1, keepdims=True)), logp, by_speed)
    top = logp.max(axis=1, keepdims=True)
    none = ~np.isfinite(top[:, 0])
    w = np.exp(logp - np.where(np.isfinite(top), top, 0.0))
    w[none] = 1.0
    return w / w.sum(axis=1, keepdims=True)


@dataclass
class BurnoutDraws:
    """M burnout states of each of N tracks: t (N, M) unix s, pos/vel (N, M, 3); cls (N, M) class index;
    early (N, M) the draw stopped its motor early."""

    t_unix_s: NDArray[np.float64]
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    cls: NDArray[np.int64]
    early: NDArray[np.bool_]


def draw_noise(keys: list[str], seed: int, n_draws: int) -> NDArray[np.float64]:
    """The random numbers (N, 8, M) of N tracks: seven uniforms and one normal per draw, the same for a
    track at every step (seeded by its key), so its probabilities move with its state, not with noise."""
    out = np.empty((len(keys), 8, n_draws))
    for i, key in enumerate(keys):
        rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(key.encode())])
        out[i, :7] = rng.random((7, n_draws))
        out[i, 7] = rng.standard_normal(n_draws)
    return out


def draw_burnouts(t_unix_s, pos_ecef_m, vel_ecef_mps, posterior, thrust_mps2, noise: NDArray,
                  config: BoostRiskConfig = BoostRiskConfig(), p_motor_on: ArrayLike | None = None,
                  tau_s: ArrayLike | None = None) -> BurnoutDraws:
    """Burnout states (module doc, step 2) of N powered states (N,), (N, 3), (N, 3) with class
    posteriors (N, C), observed thrust (N,) m/s^2 (NaN: the class's nominal) and noise
    from draw_noise (N, 8, M). p_motor_on (N,): the chance the motor still burns (the fused vote of the national
    trackers' boost probabilities; NaN or None: 1); the other draws burn out now. tau_s (N,): time since
    launch (NaN unknown), which says whether a pause in thrust can be a staging."""
    t0 = np.asarray(t_unix_s, float).reshape(-1)
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    vel = np.asarray(vel_ecef_mps, float).reshape(-1, 3)
    post = np.asarray(posterior, float)
    u_cls, u_speed, u_early, u_stop, u_pitch, u_motor, u_burn, z_az = (noise[:, k] for k in range(8))
    classes = config.classes
    cum = np.cumsum(post, axis=1)
    cls = np.minimum((u_cls[..., None] > cum[:, None, :]).sum(axis=-1), len(classes) - 1)
    lo = np.array([c.burnout_speed_mps[0] for c in classes])[cls]
    hi = np.array([c.burnout_speed_mps[1] for c in classes])[cls]
    speed = np.linalg.norm(vel, axis=-1)
    v_now = speed[:, None]
    v_bo = np.maximum(lo, v_now) + u_speed * np.clip(hi - np.maximum(lo, v_now), 0.0, None)
    early = u_early < config.p_early_termination
    v_bo = np.where(early, v_now + u_stop * (v_bo - v_now), v_bo)
    acc = np.asarray(thrust_mps2, float).reshape(-1)[:, None]
    # The track's own motion says the motor is off: a motor that stopped (early or at burnout) unless it
    # is the pause between two stages (p_restart of the draws burn on).
    off = np.isfinite(acc) & (acc < config.coast_accel_mps2)
    p_on = np.ones(pos.shape[0]) if p_motor_on is None else np.asarray(p_motor_on, float).reshape(-1)
    p_on = np.where(np.isfinite(p_on), np.clip(p_on, 0.0, 1.0), 1.0)[:, None]
    # A pause in thrust is a staging only for a draw whose class has a stage still to come at tau.
    tau = np.full(pos.shape[0], np.nan) if tau_s is None else np.asarray(tau_s, float).reshape(-1)
    last_start = np.array([c.burn_s - c.stage_burn_s[-1] for c in classes])[cls]
    more = ~(tau[:, None] >= last_start) & (last_start > 0.0)
    restart = more & (u_motor < config.p_restart)
    stopped = (off & ~restart) | (u_motor >= p_on)
    v_bo = np.where(stopped, v_now, v_bo)
    early = early | stopped
    # What the drawn class's motor can still add: its remaining burn at tau (burn times vary by
    # burn_spread), at the observed thrust grown as the class's profile grows (else the class's own).
    burn = np.array([c.burn_s for c in classes])[cls] * (1.0 + config.burn_spread * (2.0 * u_burn - 1.0))
    t_left = np.clip(burn - tau[:, None], 0.0, None)
    a_now = np.array([c.accel_at(0.0) for c in classes])[cls]
    a_end = np.array([c.accel_at(c.burn_s - 1e-6) for c in classes])[cls]
    for k, c in enumerate(classes):
        here = (cls == k) & np.isfinite(tau[:, None])
        a_now = np.where(here, c.accel_at(np.clip(np.nan_to_num(tau[:, None]), 0.0, c.burn_s - 1e-6)), a_now)
    obs = np.isfinite(acc) & (acc > config.coast_accel_mps2)
    grow = a_end / np.maximum(a_now, 1e-3)
    a_ref = np.where(obs, acc, a_now)
    dv_left = t_left * 0.5 * a_ref * (1.0 + grow)
    v_bo = np.where(np.isfinite(tau[:, None]), np.minimum(v_bo, v_now + dv_left), v_bo)
    lat, lon, _ = ecef_to_geodetic(pos)
    rot = enu_rotation(lat, lon)  # ECEF -> ENU, (N, 3, 3)
    v_enu = np.einsum("nij,nj->ni", rot, vel)
    az = np.arctan2(v_enu[:, 0], v_enu[:, 1])[:, None] + np.radians(config.azimuth_sigma_deg) * z_az
    climb0 = np.arctan2(v_enu[:, 2], np.hypot(v_enu[:, 0], v_enu[:, 1]))[:, None]
    # Pitch-over until burnout: the gravity turn of a motor thrusting along its velocity,
    # d(gamma)/dt = -g cos(gamma) / v, over the remaining burn at the mean speed, times 0.5-2 (guidance
    # steers too), plus up to pitch_extra_deg; a lofted shot's steep climb so stays steep.
    nominal = np.array([c.stage_accel0_mps2[-1] for c in classes])[cls]
    accel = np.where(np.isfinite(acc) & (acc > 2.0), acc, nominal)
    dt = (v_bo - v_now) / np.maximum(accel, 2.0)
    turn = 9.81 * np.cos(climb0) * dt / np.maximum(0.5 * (v_now + v_bo), 300.0)
    climb = np.maximum(climb0 - (0.5 + 1.5 * u_pitch) * turn - np.radians(config.pitch_extra_deg) * u_pitch, 0.0)
    dir_enu = np.stack([np.cos(climb) * np.sin(az), np.cos(climb) * np.cos(az), np.sin(climb)], axis=-1)
    v_bo_ecef = np.einsum("nji,nmj->nmi", rot, dir_enu) * v_bo[..., None]
    p_bo = pos[:, None, :] + 0.5 * (vel[:, None, :] + v_bo_ecef) * dt[..., None]
    return BurnoutDraws(t0[:, None] + dt, p_bo, v_bo_ecef, cls, early)


def area_probabilities(areas: AreaModel, t_unix_s, pos_ecef_m, draws: BurnoutDraws,
                       config: BoostRiskConfig = BoostRiskConfig()) -> list[AreaHit]:
    """Overflight and impact probabilities per (track, area) (module doc, step 3); hit.row indexes the N
    tracks, probabilities are shares of the M draws, the entry time the earliest over the draws."""
    t0 = np.asarray(t_unix_s, float).reshape(-1)
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    n, m = draws.cls.shape
    if n == 0:
        return []
    hits = fly_to_ground(draws.pos_ecef_m.reshape(-1, 3), draws.vel_ecef_mps.reshape(-1, 3),
                         max_time_s=config.max_time_s, record=np.arange(n * m), step_vacuum_s=60.0)
    tr_t = hits.trace_t_s.reshape(-1, n, m) + draws.t_unix_s[None]
    tr_p = hits.trace_pos_ecef_m.reshape(-1, n, m, 3)
    # The path from the present position to each burnout point comes first.
    tr_t = np.concatenate([np.broadcast_to(t0[None, :, None], (1, n, m)), tr_t], axis=0)
    tr_p = np.concatenate([np.broadcast_to(pos[None, :, None, :], (1, n, m, 3)), tr_p], axis=0)
    lat, lon, tt, valid = ground_tracks(tr_t, tr_p, config.trace_substeps)
    out = area_risk.overflight_risk(areas, lat, lon, tt, valid, mean_first=False)
    landed = hits.hit.reshape(n, m)
    i_lat, i_lon, _ = ecef_to_geodetic(hits.pos_ecef_m.reshape(n, m, 3))
    i_lat = np.where(landed, np.degrees(i_lat), 89.9)  # a draw still flying at the horizon lands nowhere
    i_lon = np.mod(np.degrees(i_lon) + 180.0, 360.0) - 180.0
    t_hit = (draws.t_unix_s + hits.tof_s.reshape(n, m)).min(axis=1)
    out.extend(area_risk.impact_risk(areas, i_lat, i_lon, t_hit))
    return out


def burnout_cue(history: list, t_unix_s: float, thrust_mps2: float) -> tuple[float, list]:
    """The thrust estimate (m/s^2), 0 where it fell below half the track's peak of 3-12 s before: a
    motor's thrust acceleration grows as it burns, so such a drop is a burnout (or a staging, which the
    draws allow for) seen before the estimate itself reaches zero. history: [(t, thrust)] of the track,
    returned trimmed to 12 s with this one added."""
    kept = [(tt, a) for tt, a in history if t_unix_s - tt <= 12.0]
    ref = [a for tt, a in kept if t_unix_s - tt >= 3.0]
    if not np.isfinite(thrust_mps2):
        return thrust_mps2, kept
    out = 0.0 if ref and thrust_mps2 < 0.5 * max(ref) else float(thrust_mps2)
    return out, [*kept, (t_unix_s, float(thrust_mps2))]


@dataclass
class BoostRisk:
    """The probabilistic boost-phase layer of one assessor: class posteriors, burnout draws and area
    probabilities of the powered tracks of one step (assess(t, ...))."""

    config: BoostRiskConfig = BoostRiskConfig()
    seed: int = 0

    def assess(self, areas: AreaModel, keys: list[str], t_unix_s, pos_ecef_m, vel_ecef_mps, tau_s, thrust_mps2,
               p_motor_on=None) -> tuple[list[AreaHit], NDArray[np.float64]]:
        """Area hits (hit.row: track index) and the class posteriors (N, C) of N powered states; keys
        name the tracks (each keeps its random numbers from step to step); p_motor_on (N,) see
        draw_burnouts."""
        pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
        vel = np.asarray(vel_ecef_mps, float).reshape(-1, 3)
        post = class_posterior(np.linalg.norm(vel, axis=-1), tau_s, thrust_mps2, self.config.classes)
        noise = draw_noise(keys, self.seed, self.config.n_draws)
        draws = draw_burnouts(t_unix_s, pos, vel, post, thrust_mps2, noise, self.config, p_motor_on, tau_s)
        return area_probabilities(areas, t_unix_s, pos, draws, self.config), post
