"""The picture adapter never mixes live and exercise: a live node's pictures say LIVE with CAP status Actual,
an exercise node's say EXERCISE, and a message of the other kind is refused rather than shown."""

from __future__ import annotations

import pytest

from triwarn.api.picture import PictureHub
from triwarn.api.picture_feed import PictureFeed
from triwarn.node.core import StepResult
from triwarn.node.lockstep import LinkModel
from triwarn.records.tracks import SystemTracks
from triwarn.records.warnings import AreaWarning, WarningMessage

T0 = 1_700_000_000.0


def _result(exercise: str | None) -> StepResult:
    msg = WarningMessage(sender="jp", identifier="JP-1", incident="I1", sent_unix_s=T0, msg_type="Alert",
                         references=(), areas=(AreaWarning("JP-01", "shelter", "overflight", 0.9, T0 + 200.0),),
                         expires_unix_s=T0 + 3600.0, exercise=exercise)
    return StepResult(t_unix_s=T0, outgoing=[], system_tracks=SystemTracks.empty(), own_tracks=None, events=[],
                      warnings=[msg], cap_xml=[], cot_xml=[])


def test_a_live_feed_shows_live_pictures_with_status_actual():
    pic = PictureFeed(PictureHub(("jp",)), "", LinkModel(), live=True).picture("jp", _result(None))
    assert pic.mode == "live" and pic.exercise_name is None
    assert [e.status for e in pic.alert_log] == ["Actual"]
    assert "EXERCISE" not in pic.alert_log[0].headline_en and "JP-01" in pic.alert_log[0].headline_en
    assert pic.alerts[0].state == "shelter"


def test_an_exercise_feed_marks_every_entry_as_an_exercise():
    pic = PictureFeed(PictureHub(("jp",)), "DRILL", LinkModel()).picture("jp", _result("DRILL"))
    assert pic.mode == "exercise" and pic.exercise_name == "DRILL"
    assert pic.alert_log[0].status == "Exercise" and pic.alert_log[0].headline_en.startswith("EXERCISE")


@pytest.mark.parametrize(("live", "exercise"), [(True, "DRILL"), (False, None)])
def test_a_feed_refuses_a_message_of_the_other_kind(live, exercise):
    feed = PictureFeed(PictureHub(("jp",)), "" if live else "DRILL", LinkModel(), live=live)
    with pytest.raises(ValueError, match="never mixes"):
        feed.picture("jp", _result(exercise))


def test_a_live_feed_cannot_carry_an_exercise_name():
    with pytest.raises(ValueError, match="live picture feed"):
        PictureFeed(PictureHub(("jp",)), "DRILL", LinkModel(), live=True)
