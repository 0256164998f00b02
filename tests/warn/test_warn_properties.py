"""Properties over random event streams: whatever the assessment says, the output stays well formed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from warn_fixtures import EXERCISE, T0, consumer_view, feed, launch, obs, pred, risk, with_exercise

from triwarn.records.warnings import ACTIVE_STATES
from triwarn.warn.cap import to_cap, validate_cap
from triwarn.warn.policy import WarnPolicy

CODES = ("JP-02", "JP-03", "JP-05")
probabilities = st.sampled_from([0.0, 0.005, 0.02, 0.04, 0.06, 0.3, 0.9])
step = st.tuples(
    st.lists(st.tuples(st.sampled_from(CODES), probabilities, st.booleans()), max_size=3),
    st.sampled_from(["alive", "alive", "alive", "lost", "none"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=40))
def test_random_streams_give_valid_threads_without_flapping(exercise_machine, steps):
    policy = WarnPolicy(min_hold_s=30.0)
    machine = exercise_machine(policy)
    issued = []
    t = T0 + 30.0
    issued += feed(machine, with_exercise([launch()]), t)
    for k, (risks, status) in enumerate(steps):
        t = T0 + 60.0 + 5.0 * k
        events = [pred(t, lon=140.0 + 0.5 * (k % 7))]
        events += [
            risk(
                t,
                code,
                p,
                kind="impact" if eez else "overflight",
                **({"probability_eez": p, "probability": 0.0} if eez else {}),
            )
            for code, p, eez in risks
        ]
        if status != "none":
            events.append(obs(t, lon=128.0 + 0.8 * k, status=status))
        issued += feed(machine, with_exercise(events), t)
        _assert_consumers_hold_the_machine_states(machine, issued)
    issued += machine.step([], t + 2000.0)  # every flight is certainly over by now
    _assert_consumers_hold_the_machine_states(machine, issued)
    ids = [m.identifier for m in issued]
    assert len(set(ids)) == len(ids)
    for m in issued:
        assert m.msg_type != "Update" or m.references  # an Update supersedes something
        assert m.exercise == EXERCISE
        assert validate_cap(to_cap(m)) == []
    # No area is let go within the hold time of being sheltered.
    shelter_t: dict[tuple[str, str], float] = {}
    for m in issued:
        for a in m.areas:
            key = (m.incident, a.code)
            if a.state == "shelter":
                shelter_t.setdefault(key, m.sent_unix_s)
            elif a.state == "clear" and a.reason == "no_longer_at_risk" and key in shelter_t:
                assert m.sent_unix_s - shelter_t.pop(key) >= 30.0 - 1.0
    # Nothing is left standing once every flight is over.
    for inc in machine.incidents:
        view = consumer_view([m for m in issued if m.incident == inc.name])
        assert all(s not in ACTIVE_STATES for s in view.values())


def _assert_consumers_hold_the_machine_states(machine, issued) -> None:
    """Every active area's state, as a CAP consumer of the messages so far holds it, is the machine's; a
    consumer holds no warning the machine no longer has (docs/alert-profiles.md, "Message threads")."""
    for inc in machine.incidents:
        view = consumer_view([m for m in issued if m.incident == inc.name])
        held = {c: s for c, s in view.items() if s in ACTIVE_STATES}
        assert held == {c: a.state for c, a in inc.areas.items() if a.state in ACTIVE_STATES}
