"""All-clear timing (issue 6: all-clear within 10 s of the evidence, never before it): the causes found on
the IRBM replays, each with the case that failed before."""

from __future__ import annotations

import numpy as np
from warn_fixtures import T0, launch, lon_at, obs, overflight_timeline, pred, risk, run, states, with_exercise

from triwarn.warn.policy import WarnPolicy

IMPACT_T = T0 + 600.0


def _down_on_jp05(track: str, start: float, stop: float, *, impact_t: float = IMPACT_T, lon0: float = 138.0):
    """track descends toward JP-05 (impact 39.5N 140.2E at impact_t), seen every 5 s from start to stop,
    each step with a sure ballistic prediction (3 km, 0.5 s) and JP-05's impact risk."""
    tl = {}
    for t in np.arange(start, stop + 1e-9, 5.0):
        t = float(t)
        alt = 300_000.0 - 280_000.0 * (t - (T0 + 100.0)) / (IMPACT_T - 30.0 - (T0 + 100.0))
        tl[t] = [
            obs(t, track=track, lat=39.5, lon=lon0 + 0.004 * (t - T0), alt_m=alt),
            pred(t, track=track, lat=39.5, lon=140.2, impact_t=impact_t, semi_major_m=3000.0,
                 semi_minor_m=1000.0, time_sigma_s=0.5),
            risk(t, "JP-05", 0.9, track=track, kind="impact", enter=impact_t),
        ]
    return tl


def _jp05_sequence(issued):
    seq = [states(m)["JP-05"] for _t, m in issued if "JP-05" in states(m)]
    return [s for k, s in enumerate(seq) if k == 0 or s != seq[k - 1]]


def test_a_lost_track_picked_up_again_with_the_same_impact_clears_when_the_new_one_lands(exercise_machine):
    # Guam replay, US node: the radars lost the warhead (US-S2) at +674 s over the Pacific and picked it up
    # 106 s later as a new track (US-S5), seen down to 31 km. US-S5 had landed at +1158 s, but the lost
    # US-S2 held Guam on its own timer (predicted impact + 15 s) until +1172 s, 12 s after the impact.
    tl = {T0 + 20.0: [launch()], **_down_on_jp05("W1", T0 + 100.0, T0 + 250.0)}
    tl[T0 + 265.0] = [obs(T0 + 265.0, track="W1", status="lost")]
    tl.update(_down_on_jp05("W2", T0 + 400.0, IMPACT_T - 30.0))  # 150 s later: no position continuation
    tl = {k: with_exercise(v) for k, v in tl.items()}
    issued = run(exercise_machine(), tl, T0, T0 + 800)
    t_clear, final = issued[-1]
    assert states(final) == {"JP-05": "clear"} and final.areas[0].reason == "landed"
    last_seen = IMPACT_T - 30.0
    assert t_clear <= last_seen + WarnPolicy().lost_after_s + 1.0  # before: IMPACT_T + 15
    assert _jp05_sequence(issued) == ["shelter", "clear"]  # W1's stale risk does not re-alert it


def test_a_lost_track_whose_impact_differs_from_the_new_one_keeps_its_own_timer(exercise_machine):
    # The same, but the new track's impact comes 60 s later: not the same trajectory, so the lost track is
    # not known to have landed, and the area stands until its own impact time plus the margin.
    tl = {T0 + 20.0: [launch()], **_down_on_jp05("W1", T0 + 100.0, T0 + 250.0)}
    tl[T0 + 265.0] = [obs(T0 + 265.0, track="W1", status="lost")]
    tl.update(_down_on_jp05("W2", T0 + 400.0, IMPACT_T - 30.0, impact_t=IMPACT_T + 60.0))
    tl = {k: with_exercise(v) for k, v in tl.items()}
    issued = run(exercise_machine(), tl, T0, T0 + 800)
    t_clear, final = issued[-1]
    assert states(final) == {"JP-05": "clear"}
    assert t_clear >= IMPACT_T + WarnPolicy().impact_margin_min_s


def test_the_late_loss_report_of_a_landed_track_opens_no_new_incident(exercise_machine):
    # Guam replay: the node reports a track lost 15 s after its last sight; the machine had already
    # judged it landed (10 s) and closed the incident, and the report opened an empty second incident.
    machine = exercise_machine()
    tl = {T0 + 20.0: [launch()], **_down_on_jp05("W1", T0 + 100.0, IMPACT_T - 30.0)}
    tl[IMPACT_T - 15.0] = [obs(IMPACT_T - 15.0, track="W1", status="lost")]
    tl = {k: with_exercise(v) for k, v in tl.items()}
    issued = run(machine, tl, T0, T0 + 800)
    assert states(issued[-1][1]) == {"JP-05": "clear"}
    assert len(machine.incident_names()) == 1
    assert all(inc.closed for inc in machine.incidents)


def _with_stage(tl, *, lon0=130.0, deg_per_s=0.02, start=T0 + 100.0, stop=T0 + 1000.0, quality=1.0):
    """S1, a separated piece (the spent stage) flying east along 40.9N behind W1, slower: over JP-02
    (140.0-141.7E) from about T0+600 to T0+685; each 10 s a cycle naming its overflight of JP-02 while the
    area is ahead of it or under it."""
    t = start
    while t <= stop:
        lon = lon0 + deg_per_s * (t - start)
        evs = [obs(t, track="S1", lon=lon, alt_m=250_000.0)]
        if (t - start) % 10.0 == 0.0:
            kw = {"object": "separated", "flags": ["separated_piece"], "quality": quality}
            evs.append(pred(t, track="S1", lat=40.9, lon=152.0, impact_t=T0 + 1200.0, **kw))
            if lon < 141.7:
                evs.append(risk(t, "JP-02", 0.9, track="S1", enter=T0 + 600.0, **kw))
        tl.setdefault(t, []).extend(with_exercise(evs))
        t += 5.0
    return tl


def test_a_separated_piece_still_flying_over_a_warned_area_holds_its_all_clear(exercise_machine):
    # Replayed 2022-10-04 IRBM with sharing: Japan's track of the spent first stage (labelled a separated
    # piece) was over JP-02 when JP-02 was all-cleared, 3 s after it came over it, on the warhead alone.
    issued = run(exercise_machine(), _with_stage(overflight_timeline()), T0, T0 + 1100)
    seq = [states(m)["JP-02"] for _t, m in issued if "JP-02" in states(m)]
    changes = [s for k, s in enumerate(seq) if k == 0 or s != seq[k - 1]]
    assert changes == ["shelter", "passed", "clear"], changes
    t_passed = next(t for t, m in issued if states(m).get("JP-02") == "passed")
    t_clear = next(t for t, m in issued if states(m).get("JP-02") == "clear")
    stage_lon = lambda t: 130.0 + 0.02 * (t - (T0 + 100.0))  # noqa: E731
    assert stage_lon(t_passed) >= 141.7 + 0.1  # both seen past it (before: W1 alone, at T0+442)
    # Cleared once the stage too is 300 km (~3.6 deg of longitude at 40.9N) past it, not before; before:
    # on W1 alone at about T0+540, with the stage still 3 degrees short of the area.
    assert stage_lon(t_clear) >= 141.7 + 300e3 / (111_195.0 * np.cos(np.radians(40.9)))
    assert stage_lon(t_clear - 5.0) < 141.7 + 300e3 / (111_195.0 * np.cos(np.radians(40.9))) + 0.2
    assert lon_at(t_clear) > 145.3


def test_a_separated_piece_flying_over_an_area_never_warns_it(exercise_machine):
    # The other half of the rule (2023-04-13): the piece's overflight keeps a warned area, never raises one.
    tl = _with_stage({T0 + 20.0: with_exercise([launch()])})
    assert run(exercise_machine(), tl, T0, T0 + 1100) == []


def test_an_untrusted_separated_piece_does_not_hold_the_area(exercise_machine):
    # A young or doubtful track of a piece (quality under min_quality) is no evidence of anything.
    base = run(exercise_machine(), overflight_timeline(), T0, T0 + 1100)
    held = run(exercise_machine(), _with_stage(overflight_timeline(), quality=0.3), T0, T0 + 1100)
    t_base = next(t for t, m in base if states(m).get("JP-02") == "clear")
    t_held = next(t for t, m in held if states(m).get("JP-02") == "clear")
    assert t_held == t_base
