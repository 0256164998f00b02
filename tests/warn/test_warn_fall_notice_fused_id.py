"""A piece's sea notice with sharing no later than alone when a stage breaks up under a fused track
(issue 13, "never later"; 2023-08-24 seed 1: Japan's notice for the sea off JP-47 came 26 s later shared).

Three nations track one stage; after the break-up the most precise track (us) turns, over its filter's
lag, to one piece, the other two (jp, kr) stay on another, which us picks up under a new track.
Covariance intersection weights the precise track most, so the fused prior follows us's piece and jp's
and kr's tracks leave the system track's keep gate. Before the fix (fusion.fuser, _id_stays_with_majority)
they moved to the system track us's new track had just started, so the piece jp had followed all along got
a new id, the warning machine's trust gate (a track seen for short_track_s) started over for it, and the
notice jp alone gives at short_track_s had not come 100 s after the first sighting.
"""

from __future__ import annotations

import numpy as np
from warn_fixtures import T0, obs, pred, run, with_exercise

from triwarn.fusion.fuser import Fuser
from triwarn.geo.frames import enu_rotation, geodetic_to_ecef
from triwarn.geo.hazard_zones import parse_notice
from triwarn.physics.dynamics import propagate
from triwarn.records.tracks import NationalTracks
from triwarn.warn.fall_notice import SEA_SUFFIX
from triwarn.warn.policy import WarnPolicy

NOTICE = parse_notice("""NAVAREA XI 0001/22
DPRK. ROCKET LAUNCHING 032200Z OCT TO 042200Z OCT 22 IN AREAS BOUNDED BY:
A. 41-18N 142-30E, 41-18N 143-30E, 40-30N 142-30E, 40-30N 143-30E. (FIRST STAGE)
""")
T_SEEN = T0 + 100.0  # every nation tracks the stage from here, each second
T_BREAK = T_SEEN + 30.0  # the stage breaks up; us follows piece B, jp and kr piece A
T_US_A = T_BREAK + 2.0  # us's new track on piece A
LAG_S = 10.0  # a tracker's filter takes this long to follow a piece's new course
PRECISE = np.diag([10.0**2] * 3 + [0.5**2] * 3)  # us: an X-band radar
COARSE = np.diag([100.0**2] * 3 + [5.0**2] * 3)  # jp, kr


def _stage():
    lat, lon = np.radians(38.0), np.radians(135.0)
    az, el = np.radians(60.0), np.radians(5.0)
    v_enu = 4000.0 * np.array([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
    return geodetic_to_ecef(lat, lon, 250e3), enu_rotation(lat, lon).T @ v_enu


def _state(pos, vel, t0, t):
    p, v = propagate(pos[None], vel[None], [t - t0], max_step_s=2.0)
    return p[0], v[0]


def _report(nation, track_id, t, pos, vel, cov, rng):
    e = rng.multivariate_normal(np.zeros(6), cov)
    tab = NationalTracks([track_id], [t], [pos + e[:3]], [vel + e[3:]], [cov], boost=[False])
    tab.nation[:] = nation
    return tab


def _fused_ids_of_jp_track() -> dict[float, str]:
    """Per second, the id of the system track jp's node holds its own track T1 (piece A) on."""
    rng = np.random.default_rng(13)
    pos, vel = _stage()
    pos_b, vel_b = _state(pos, vel, T_SEEN, T_BREAK)
    vel_b = vel_b + 150.0 * np.cross(pos_b, vel_b) / np.linalg.norm(np.cross(pos_b, vel_b))  # sideways kick
    fuser = Fuser(id_prefix="JP-S", own_nation="jp")
    held = {}
    for t in np.arange(T_SEEN, T_SEEN + 101.0, 1.0):
        a = _state(pos, vel, T_SEEN, t)
        b = _state(pos_b, vel_b, T_BREAK, t) if t >= T_BREAK else a
        w = min(max((t - T_BREAK) / LAG_S, 0.0), 1.0)  # us's filter turns to piece B over LAG_S
        b = (a[0] + w * (b[0] - a[0]), a[1] + w * (b[1] - a[1]))
        tables = [_report("jp", "T1", t, *a, COARSE, rng), _report("kr", "K1", t, *a, COARSE, rng),
                  _report("us", "U1", t, *b, PRECISE, rng)]
        if t >= T_US_A:
            tables.append(_report("us", "U2", t, *a, PRECISE, rng))
        sys = fuser.update(t, tables)
        (row,) = [i for i, src in enumerate(sys.sources) if "jp:T1" in src]
        held[float(t)] = sys.track_id[row]
    return held


def test_the_piece_a_nation_followed_all_along_keeps_its_fused_id_when_the_precise_partner_follows_another():
    held = _fused_ids_of_jp_track()
    assert held[T_BREAK - 1.0] == held[T_SEEN]  # one system track for the stage before the break-up
    assert set(held.values()) == {held[T_SEEN]}, sorted(set(held.values()))


def test_the_sea_notice_of_a_piece_under_a_fused_track_comes_when_the_node_alone_would_give_it(exercise_machine):
    held = _fused_ids_of_jp_track()
    # The node's prediction of piece A's fall, each second under the fused track holding its own track:
    # trusted and ballistic, in declared zone A, off JP-01 (warn_fixtures' boxes).
    timeline = {t: with_exercise([obs(t, track=tid, lat=40.9, lon=143.0, alt_m=250e3),
                                  pred(t, track=tid, lat=40.9, lon=143.0, impact_t=T_SEEN + 600.0, quality=0.9)])
                for t, tid in held.items()}
    policy = WarnPolicy(hazard_notice=NOTICE)
    issued = run(exercise_machine(policy), timeline, T_SEEN, T_SEEN + 100.0)
    notices = [(t, m) for t, m in issued if m.areas and m.areas[0].code == "JP-01" + SEA_SUFFIX]
    assert notices, f"no notice for piece A's fall (tracks {sorted(set(held.values()))})"
    # Alone the node's track is seen since T_SEEN: its notice is due once it has been seen short_track_s.
    assert notices[0][0] <= T_SEEN + policy.short_track_s
