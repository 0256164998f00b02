"""A ballistic prediction far ahead of the fall (a lofted ICBM, 40-70 min) with a low probability for a coast
does not shelter it yet: its ellipse shrinks long before a warning is due (WarnPolicy.defer_beyond_s). A
high probability, a fall soon, or an area already sheltered are acted on as before."""

from __future__ import annotations

import pytest
from warn_fixtures import T0, launch, obs, pred, risk, run, states, with_exercise

from triwarn.errors import InputError
from triwarn.warn.policy import WarnPolicy

FALL = T0 + 3600.0  # a lofted shot: the fall an hour after launch


def _timeline(p_early, p_late, fall=FALL, late_t=T0 + 3100.0):
    """W1 ballistic from T0+300 s; its impact risk for JP-05 p_early every 5 s until late_t, p_late after."""
    tl = {T0 + 20.0: with_exercise([launch()])}
    t = T0 + 300.0
    while t <= late_t + 60.0:
        p = p_early if t < late_t else p_late
        tl[t] = with_exercise([obs(t, lat=40.0, lon=139.0, alt_m=2_000_000.0),
                               pred(t, lat=39.6, lon=139.4, impact_t=fall, quality=0.9),
                               risk(t, "JP-05", p, kind="impact", enter=fall, quality=0.9)])
        t += 5.0
    return tl


def _first_shelter(issued, code="JP-05"):
    return next((t for t, m in issued if states(m).get(code) == "shelter"), None)


def test_a_low_probability_far_ahead_waits_and_a_firm_one_or_a_near_fall_alerts(exercise_machine):
    # 12 % an hour ahead: not yet; nothing is issued while the ellipse shrinks and the area drops out.
    issued = run(exercise_machine(), _timeline(0.12, 0.0, late_t=T0 + 2900.0), T0, T0 + 3200.0, dt=5.0)
    assert _first_shelter(issued) is None
    # The same 12 % kept until the fall is 10 min ahead (defer_beyond_s): sheltered then.
    issued = run(exercise_machine(), _timeline(0.12, 0.12), T0, T0 + 3200.0, dt=5.0)
    assert _first_shelter(issued) == pytest.approx(FALL - 600.0, abs=5.0)
    # 95 % an hour ahead: sheltered at the first cycle.
    issued = run(exercise_machine(), _timeline(0.95, 0.95), T0, T0 + 400.0, dt=5.0)
    assert _first_shelter(issued) == pytest.approx(T0 + 300.0, abs=5.0)
    # Deferral off (None): the old rule, 12 % shelters at the first cycle.
    issued = run(exercise_machine(WarnPolicy(defer_beyond_s=None)), _timeline(0.12, 0.0), T0, T0 + 400.0, dt=5.0)
    assert _first_shelter(issued) == pytest.approx(T0 + 300.0, abs=5.0)


def test_an_area_already_sheltered_is_not_let_go_by_the_deferral(exercise_machine):
    # 95 % first (sheltered), then 12 % still an hour ahead: the shelter stands (hysteresis as before).
    tl = _timeline(0.95, 0.12, late_t=T0 + 320.0)
    issued = run(exercise_machine(), tl, T0, T0 + 500.0, dt=5.0)
    assert _first_shelter(issued) is not None
    last = [states(m).get("JP-05") for _t, m in issued if "JP-05" in states(m)]
    assert last[-1] == "shelter"


def test_the_deferral_settings_are_bounded():
    with pytest.raises(InputError):
        WarnPolicy(defer_beyond_s=-1.0)
    with pytest.raises(InputError):
        WarnPolicy(defer_below_probability=0.01)  # below on_probability


def test_a_deferred_risk_of_a_track_that_is_lost_still_shelters_when_the_fall_comes_near(exercise_machine):
    # 12 % an hour ahead, then the track is lost (no more cycles): its last prediction stands, and the
    # deferral ends at the machine's time, 10 min before the fall, not at a next cycle that never comes.
    issued = run(exercise_machine(), _timeline(0.12, 0.12, late_t=T0 + 600.0), T0, T0 + 3200.0, dt=5.0)
    assert _first_shelter(issued) == pytest.approx(FALL - 600.0, abs=5.0)


def _cutoff_timeline(p, enter, burn_until=T0 + 200.0, stop=T0 + 3200.0):
    """W1 boosting from T0+100 s: every 5 s its cut-off path puts JP-05 at p (area entered at `enter`) until
    burn_until; then ballistic predictions that name no area (the fall at sea) until stop."""
    tl = {T0 + 20.0: with_exercise([launch()])}
    t = T0 + 100.0
    while t <= stop:
        cycle = [obs(t, lat=40.0, lon=139.0, alt_m=2_000_000.0)]
        if t <= burn_until:
            cycle += [pred(t, lat=39.6, lon=139.4, impact_t=enter, quality=0.9, powered=True,
                           flags=["corridor", "cutoff_path"]),
                      risk(t, "JP-05", p, kind="impact", enter=enter, quality=0.9, powered=True, flags=["cutoff_path"])]
        else:
            cycle.append(pred(t, lat=39.6, lon=139.4, impact_t=FALL, quality=0.9))
        tl[t] = with_exercise(cycle)
        t += 5.0
    return tl


def test_a_cutoff_path_area_entered_far_ahead_waits_whatever_its_probability(exercise_machine):
    # 96 % from a lofted ICBM's cut-off path, the area entered an hour ahead: not at once (the band's end is the
    # lagging or overshooting boost track's, and a ballistic prediction follows within seconds of thrust end).
    # The held area still shelters 10 min before it is entered (defer_beyond_s) if nothing clears it.
    issued = run(exercise_machine(), _cutoff_timeline(0.96, FALL), T0, T0 + 3200.0, dt=5.0)
    assert _first_shelter(issued) == pytest.approx(FALL - 600.0, abs=5.0)
    # Entered 5 min ahead (an MRBM's): sheltered at the first cycle, as before.
    issued = run(exercise_machine(), _cutoff_timeline(0.96, T0 + 400.0, stop=T0 + 300.0), T0, T0 + 300.0, dt=5.0)
    assert _first_shelter(issued) == pytest.approx(T0 + 100.0, abs=5.0)
    # Deferral off: the hour-ahead cut-off path shelters at once.
    issued = run(exercise_machine(WarnPolicy(defer_beyond_s=None)), _cutoff_timeline(0.96, FALL, stop=T0 + 300.0),
                 T0, T0 + 300.0, dt=5.0)
    assert _first_shelter(issued) == pytest.approx(T0 + 100.0, abs=5.0)
