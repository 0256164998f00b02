"""Satellite-launch practice (issue 14): an area's state never flaps; an object that flies on past its
predicted impact (to orbit) or boosts again (the next stage) is not taken for landed."""

from __future__ import annotations

from warn_fixtures import (
    T0,
    feed,
    launch,
    lon_at,
    obs,
    overflight_timeline,
    pred,
    risk,
    run,
    states,
    with_exercise,
)


def _area_sequence(issued, code):
    return [(t, states(m)[code]) for t, m in issued if code in states(m)]


def test_after_passed_an_area_gets_one_all_clear_even_if_new_tracks_of_the_object_put_it_at_risk(
        exercise_machine):
    # W1 crosses JP-02 and is all-cleared beyond it; then W2, a second track of the same object seen
    # where W1 is (beyond JP-02), keeps reporting JP-02 under its path for two minutes (the orbiting
    # payload of an SLV: Okinawa flipped passed / all-clear every second for 80 s).
    tl = overflight_timeline()
    for k in range(0, 180):
        t = T0 + 600.0 + k
        tl.setdefault(t, []).extend(with_exercise([obs(t, track="W2"), risk(t, "JP-02", 0.9, track="W2")]))
    issued = run(exercise_machine(), tl, T0, T0 + 850)
    seq = _area_sequence(issued, "JP-02")
    first_clear = next(i for i, (_t, s) in enumerate(seq) if s == "clear")
    assert lon_at(seq[first_clear][0]) > 141.7  # cleared beyond the area, before W2 appears
    assert seq[first_clear][0] < T0 + 600.0
    assert [s for _t, s in seq[first_clear:]] == ["clear"]  # one all-clear, no shelter or passed again
    states_seen = [s for _t, s in seq]
    assert states_seen.index("passed") < first_clear


def test_an_object_seen_flying_on_after_its_predicted_impact_is_not_taken_for_landed(exercise_machine):
    # A wrong early prediction says W1 comes down at T0+300; it is seen alive at 400 km well after that
    # (as a payload that went on to orbit). JP-02 must stay in shelter until W1 is seen past it.
    tl: dict[float, list] = {T0 + 20.0: with_exercise([launch()])}
    t = T0 + 40.0
    while t <= T0 + 700.0:
        tl.setdefault(t, []).extend(with_exercise([obs(t)]))
        t += 5.0
    for t in (T0 + 60.0, T0 + 70.0, T0 + 80.0):
        tl.setdefault(t, []).extend(with_exercise([pred(t, impact_t=T0 + 300.0, time_sigma_s=5.0),
                                                   risk(t, "JP-02", 0.9)]))
    issued = run(exercise_machine(), tl, T0, T0 + 800)
    seq = _area_sequence(issued, "JP-02")
    assert seq[0][1] == "shelter"
    left = next((t, s) for t, s in seq if s != "shelter")
    assert left[1] == "passed" and lon_at(left[0]) > 141.7  # not "clear (landed)" at T0+300
    assert seq[-1][1] == "clear"


def test_a_track_boosting_again_voids_its_ballistic_impact(exercise_machine):
    machine = exercise_machine()
    feed(machine, with_exercise([launch(), obs(T0 + 40.0), pred(T0 + 60.0, impact_t=T0 + 200.0),
                                risk(T0 + 60.0, "JP-02", 0.9)]), T0 + 60.0)
    (inc,) = machine.incidents
    assert inc.tracks["W1"].impact is not None
    feed(machine, with_exercise([pred(T0 + 70.0, impact_t=T0 + 400.0, powered=True)]), T0 + 70.0)
    trk = inc.tracks["W1"]
    assert trk.impact is None and trk.powered_until_unix_s >= T0 + 400.0
    # The next stage's corridor, not the void coast's impact time, now bounds the flight.
    assert not machine.book.flight_over(trk, T0 + 300.0)
