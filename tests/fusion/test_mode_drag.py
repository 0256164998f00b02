"""The fused mode rule and re-entry drag: an IMM boost probability under a "ballistic" label (fusion/mode.py)."""

from triwarn.fusion.fuser import Fuser
from triwarn.fusion.mode import ModeRule

from .test_fusion import T0, Object, _ballistic_state, _cov, tables


def _modes(label, p_boost, rule=None, steps=20):
    """One nation's track of a descending object, one report a second for `steps` s, with the given label
    and IMM boost probability on every report; a partner's track of it labelled ballistic (no probability,
    as over the wire). Returns the fused modes."""
    obj = Object(*_ballistic_state(alt_m=80e3, speed=3500.0, climb_deg=-35.0), seed=5)
    fuser = Fuser(mode_rule=rule or ModeRule(label_gates_probability=True), own_nation="us")
    out = []
    for k in range(steps):
        t = T0 + k
        us = obj.report("U1", t, _cov(200.0, 40.0))
        us.boost[:] = label == "boost"
        us.boost_probability[:] = p_boost
        kr = obj.report("K1", t, _cov(400.0, 40.0))
        fused = fuser.update(t, tables({"us": [us], "kr": [kr]}))
        assert len(fused) == 1
        out.append(fused.mode[0])
    return out


def test_an_imm_boost_probability_under_a_ballistic_label_does_not_power_the_fused_track():
    """On re-entry the tracker's boost mode fits the drag (its specific force points against the velocity),
    so its boost probability is high while its label says ballistic (tracking.tracker.tracks_at). Before
    the rule checked the label, the probability (0.93) won the vote from the first report and, once the
    track was heard for 10 s, vetoed the end of the boost: 2017-08-29 seed 1, the US node's fused tracks
    powered from T+589 to T+671 s, 400 s after the last burn."""
    assert _modes("ballistic", 0.93) == ["ballistic"] * 20
    # The default rule (the check off, see ModeRule.label_gates_probability) keeps the track powered.
    assert _modes("ballistic", 0.93, rule=ModeRule()) == ["boost"] * 20


def test_an_imm_boost_probability_under_a_boost_label_still_powers_the_fused_track():
    """The same reports labelled boost: the probability counts, the fused track is powered throughout."""
    assert _modes("boost", 0.93) == ["boost"] * 20
    # A low probability under a ballistic label is unchanged evidence: ballistic.
    assert _modes("ballistic", 0.2) == ["ballistic"] * 20

