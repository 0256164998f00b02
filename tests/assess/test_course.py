"""The course of a boosting track (triwarn.assess.course): its velocity's azimuth refined by the course flown,
which narrows the cut-off path's band where the velocity's azimuth is poorly known (issue 14, 2023-08-24)."""

import numpy as np

from triwarn.assess.course import COURSE_WINDOW_S, CourseBook
from triwarn.geo.frames import ecef_to_geodetic, enu_rotation

from .conftest import T0_UNIX_S


def _azimuth_deg(pos, vel):
    lat, lon, _ = ecef_to_geodetic(pos)
    e = enu_rotation(lat, lon) @ vel
    return float(np.degrees(np.arctan2(e[0], e[1])))


def _turned(pos, vel, deg):
    """vel turned by deg about the local vertical (clockwise seen from above)."""
    lat, lon, _ = ecef_to_geodetic(pos)
    rot = enu_rotation(lat, lon)
    e = rot @ vel
    a = np.radians(deg)
    e = np.array([e[0] * np.cos(a) + e[1] * np.sin(a), -e[0] * np.sin(a) + e[1] * np.cos(a), e[2]])
    return rot.T @ e


def _cov(pos_sigma_m, vel_sigma_mps):
    return np.diag([pos_sigma_m**2] * 3 + [vel_sigma_mps**2] * 3)


def _fly(book, irbm, t_from, t_to, key="W", turn_last_deg=0.0, vel_sigma=60.0):
    out = None
    for t_s in np.arange(t_from, t_to + 1e-9, 1.0):
        s = irbm.boost_state(t_s)
        vel = _turned(s[:3], s[3:], turn_last_deg) if t_s == t_to else s[3:]
        out = book.refine([key], [T0_UNIX_S + t_s], s[None, :3], vel[None], _cov(150.0, vel_sigma)[None])
    return out


def test_the_course_flown_corrects_a_velocity_azimuth_that_is_off_within_its_sigma(irbm):
    truth = irbm.boost_state(100.0)
    az_true = _azimuth_deg(truth[:3], truth[3:])
    # Alone (no history): the velocity's azimuth, 2.5 degrees off (its sigma 1.5), and its own sigma stand.
    v0, s0 = CourseBook().refine(["W"], [T0_UNIX_S + 100.0], truth[None, :3],
                                 _turned(truth[:3], truth[3:], 2.5)[None], _cov(150.0, 60.0)[None])
    assert abs(_azimuth_deg(truth[:3], v0[0]) - az_true - 2.5) < 1e-6
    # With the last 20 s of positions: close to the true course, with a smaller sigma.
    v1, s1 = _fly(CourseBook(), irbm, 100.0 - COURSE_WINDOW_S, 100.0, turn_last_deg=2.5)
    assert abs(_azimuth_deg(truth[:3], v1[0]) - az_true) < 0.6
    assert s1[0] < 0.5 * s0[0]
    # Speed and climb are kept: only the azimuth turns.
    assert abs(np.linalg.norm(v1[0]) - np.linalg.norm(truth[3:])) < 1e-6


def test_a_chord_that_disagrees_with_the_velocity_is_not_used(irbm):
    # 40 degrees apart with tight sigmas: a jump to another object or a real turn, not a noisy azimuth.
    truth = irbm.boost_state(100.0)
    v, _ = _fly(CourseBook(), irbm, 80.0, 100.0, turn_last_deg=40.0, vel_sigma=5.0)
    assert abs(_azimuth_deg(truth[:3], v[0]) - _azimuth_deg(truth[:3], truth[3:]) - 40.0) < 1e-6


def test_a_stage_adopts_the_course_its_parent_flew(irbm):
    book = CourseBook()
    _fly(book, irbm, 80.0, 99.0, key="parent")
    truth = irbm.boost_state(100.0)
    bad = _turned(truth[:3], truth[3:], 2.5)
    book.adopt("stage", "parent")
    v, _ = book.refine(["stage"], [T0_UNIX_S + 100.0], truth[None, :3], bad[None], _cov(150.0, 60.0)[None])
    assert abs(_azimuth_deg(truth[:3], v[0]) - _azimuth_deg(truth[:3], truth[3:])) < 0.6
    assert len(book) == 2


def test_keys_not_seen_for_a_minute_are_forgotten(irbm):
    book = CourseBook()
    _fly(book, irbm, 80.0, 82.0, key="old")
    _fly(book, irbm, 150.0, 151.0, key="new")
    assert len(book) == 1
