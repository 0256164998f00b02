"""The picture adapter and the end of a run (issue 18): track kinds from the assessment's object roles,
partner links from the node's runner (what /api/health shows), and the "ended" picture."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import numpy as np

from triwarn.api.app import create_app
from triwarn.api.picture import AlertLogEntry, Picture, PictureHub, apply_delta
from triwarn.api.picture_feed import PictureFeed
from triwarn.records.events import AreaRisk, Flag, ImpactPrediction

T = 1_700_000_000.0


def step(t: float, ids: list[str], events=()) -> SimpleNamespace:
    """The parts of a StepResult the adapter reads: system tracks (columns) and the step's events."""
    n = len(ids)
    st = SimpleNamespace(
        track_id=np.array(ids, dtype=object), lat_deg=np.full(n, 40.0), lon_deg=np.linspace(130, 131, n),
        alt_m=np.full(n, 1e5), vel_ecef_mps=np.tile([1000.0, 0.0, 0.0], (n, 1)), boost=np.zeros(n, bool),
        nations=[("jp", "kr")] * n, sources=np.array([()] * n, dtype=object))
    return SimpleNamespace(t_unix_s=t, events=list(events), system_tracks=st, warnings=[])


def impact(t: float, track: str, role: str, flags=()) -> ImpactPrediction:
    return ImpactPrediction(t=t, track=track, lat_deg=41.0, lon_deg=150.0, time_unix_s=t + 600,
                            semi_major_m=5e4, semi_minor_m=2e4, orientation_deg=80.0, object=role, flags=list(flags))


def risk(t: float, track: str, role: str, flags=()) -> AreaRisk:
    return AreaRisk(t=t, track=track, area="JP-02", kind="overflight", probability=0.9, enter_time_unix_s=t + 60,
                    object=role, flags=list(flags))


def kinds(pic: Picture) -> dict[str, tuple[str, str]]:
    return {trk.id: (trk.kind, trk.kind_reason) for trk in pic.tracks}


def test_track_kinds_come_from_the_assessment():
    feed = PictureFeed(PictureHub(["jp"]), "KINDS")
    ids = ["JP-T1", "JP-T2", "JP-T3", "JP-T4"]
    pic = feed.picture("jp", step(T, ids, [
        impact(T, "JP-T1", "primary"),
        risk(T, "JP-T2", "primary", [Flag.SEPARATED_PIECE]),  # the flag makes it a separated piece
        impact(T, "JP-T3", "unresolved"),
    ]))
    got = kinds(pic)
    assert got["JP-T1"] == ("warhead", "")
    assert got["JP-T2"] == ("stage", "")
    assert got["JP-T3"][0] == "unknown" and "told apart" in got["JP-T3"][1]
    assert got["JP-T4"] == ("unknown", "not assessed yet")
    # Kinds hold between assessments; a newer one changes them; a track that leaves forgets its kind.
    pic = feed.picture("jp", step(T + 1, ids, [impact(T + 1, "JP-T3", "separated")]))
    assert kinds(pic)["JP-T1"] == ("warhead", "") and kinds(pic)["JP-T3"] == ("stage", "")
    feed.picture("jp", step(T + 2, ["JP-T2"]))
    assert kinds(feed.picture("jp", step(T + 3, ids)))["JP-T1"] == ("unknown", "not assessed yet")


class FakeRunner:
    """The runner face the adapter asks: partners with their last-heard times, link_state(peer)."""

    def __init__(self, states: dict[str, tuple[str, str, float | None]]) -> None:
        self.states = states
        self.partners = {p: SimpleNamespace(last_heard_unix_s=heard) for p, (_s, _w, heard) in states.items()}

    def link_state(self, partner: str, now_unix_s: float | None = None) -> tuple[str, str]:
        state, why, _ = self.states[partner]
        return state, why


def test_links_are_the_runners_link_states():
    runner = FakeRunner({"us": ("down", "never heard", None),
                         "kr": ("degraded", "its messages are refused: from_future (9 s)", T - 0.9)})
    # The LinkModel says every link is up: the runner wins (what the UI showed before was the model's).
    feed = PictureFeed(PictureHub(["jp"]), "LINKS", runners={"jp": runner})
    links = {ln.peer: ln for ln in feed.picture("jp", step(T, [])).links}
    assert (links["us"].state, links["us"].why, links["us"].last_heard_unix_s) == ("down", "never heard", None)
    assert links["kr"].state == "degraded" and "from_future" in links["kr"].why
    assert links["kr"].last_heard_unix_s == T - 0.9
    runner.states["us"] = ("up", "", T - 0.2)
    runner.partners["us"].last_heard_unix_s = T - 0.2
    links = {ln.peer: ln for ln in feed.picture("jp", step(T + 1, [])).links}
    assert (links["us"].state, links["us"].last_heard_unix_s) == ("up", T - 0.2)
    # Without a runner for the view: the LinkModel's up/down, as before.
    assert {ln.state for ln in PictureFeed(PictureHub(["jp"]), "M").picture("jp", step(T, [])).links} == {"up"}


async def test_the_end_of_a_run_reaches_every_view_and_the_api():
    hub = PictureHub()
    hub.t0_unix_s = T - 100
    log = [AlertLogEntry(t_unix_s=T - 5, cap_identifier="c1", msg_type="Alert", status="Exercise",
                         areas=["JP-02"], headline_en="EXERCISE: x")]
    hub.publish_nowait(Picture(nation="jp", t_unix_s=T, mode="exercise", exercise_name="E", alert_log=log))
    hub.publish_nowait(Picture(nation="us", t_unix_s=T, mode="exercise", exercise_name="E"))
    subscription = hub.subscribe("jp")
    first = await anext(subscription)
    assert first.full and not first.ended
    hub.end()
    last = await anext(subscription)
    assert last.ended and not last.full and last.tracks == []
    assert apply_delta(apply_delta(None, first), last).ended
    assert hub.latest("jp").ended and hub.latest("us").ended and hub.latest("kr") is None
    await subscription.aclose()
    transport = httpx.ASGITransport(app=create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/api/health")).json()["ended"] is True
        assert (await client.get("/api/picture", params={"nation": "us"})).json()["ended"] is True
        nations = {n["code"]: n for n in (await client.get("/api/nations")).json()}
        assert nations["jp"]["first_alert_unix_s"] == T - 5 and nations["us"]["first_alert_unix_s"] is None
        assert nations["kr"]["t0_unix_s"] == T - 100
