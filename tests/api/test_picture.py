"""The picture model and the hub: deltas carry exactly what changed, at most 10 per second."""

from __future__ import annotations

import asyncio
import itertools
import time

import msgspec
import pytest

from triwarn.api.picture import (
    AlertLogEntry,
    AreaAlert,
    LinkView,
    Picture,
    PictureDelta,
    PictureHub,
    TrackView,
    apply_delta,
    picture_delta,
)


def track(tid: str, lat: float, alt_m: float = 100e3) -> TrackView:
    return TrackView(
        id=tid,
        lat_deg=lat,
        lon_deg=130.0,
        alt_m=alt_m,
        speed_mps=3000.0,
        mode="ballistic",
        kind="warhead",
        nations=["jp", "us"],
        trail=[(1000.0, lat, 130.0, alt_m)],
    )


def pic(t: float, tracks: list[TrackView], *, alerts=(), log=(), links=(), nation="jp") -> Picture:
    return Picture(
        nation=nation,
        t_unix_s=t,
        mode="exercise",
        exercise_name="x",
        tracks=tracks,
        alerts=list(alerts),
        alert_log=list(log),
        links=list(links),
    )


SHELTER = AreaAlert(
    area="JP-02",
    name_en="Aomori",
    name_ja="青森県",
    name_ko="아오모리현",
    state="shelter",
    since_unix_s=10.0,
    cap_identifier="c1",
)
ENTRY = AlertLogEntry(
    t_unix_s=10.0,
    cap_identifier="c1",
    msg_type="Alert",
    status="Exercise",
    areas=["JP-02"],
    headline_en="EXERCISE",
)
LINK_UP = LinkView(peer="us", state="up", last_heard_unix_s=9.5, latency_ms=40.0)


def test_delta_holds_only_changed_and_removed_tracks():
    a, b, c = track("A", 40.0), track("B", 41.0), track("C", 42.0)
    before = pic(1.0, [a, b, c], alerts=[SHELTER], log=[ENTRY], links=[LINK_UP])
    moved = track("B", 41.5)
    after = pic(2.0, [a, moved, track("D", 43.0)], alerts=[SHELTER], log=[ENTRY], links=[LINK_UP])
    d = picture_delta(before, after)
    assert not d.full
    assert sorted(t.id for t in d.tracks) == ["B", "D"]
    assert d.removed == ["C"]
    assert d.alerts is None and d.links is None and d.impacts is None  # unchanged lists are not resent
    assert d.alert_log == []


def test_alert_changes_resend_the_whole_list_and_new_log_entries_only():
    before = pic(1.0, [], alerts=[SHELTER], log=[ENTRY])
    passed = msgspec.structs.replace(SHELTER, state="passed", since_unix_s=50.0)
    entry2 = msgspec.structs.replace(ENTRY, t_unix_s=50.0, cap_identifier="c2", msg_type="Update")
    d = picture_delta(before, pic(2.0, [], alerts=[passed], log=[ENTRY, entry2]))
    assert d.alerts == [passed]
    assert d.alert_log == [entry2]


def test_applying_deltas_rebuilds_the_picture():
    p1 = pic(1.0, [track("A", 40.0), track("B", 41.0)], alerts=[SHELTER], log=[ENTRY], links=[LINK_UP])
    p2 = pic(2.0, [track("B", 41.2), track("E", 39.0)], alerts=[], log=[ENTRY], links=[])
    held = apply_delta(None, picture_delta(None, p1))
    held = apply_delta(held, picture_delta(p1, p2))
    assert sorted(held.tracks, key=lambda t: t.id) == sorted(p2.tracks, key=lambda t: t.id)
    assert held.alerts == [] and held.links == [] and held.alert_log == [ENTRY]
    assert held.t_unix_s == 2.0


def test_mode_change_forces_a_full_delta():
    p1 = pic(1.0, [track("A", 40.0)])
    p2 = msgspec.structs.replace(p1, mode="live", t_unix_s=2.0)
    assert picture_delta(p1, p2).full


def test_delta_round_trips_through_json():
    d = picture_delta(None, pic(1.0, [track("A", 40.0)], alerts=[SHELTER], log=[ENTRY], links=[LINK_UP]))
    back = msgspec.json.decode(msgspec.json.encode(d), type=PictureDelta)
    assert back == d


def test_bad_picture_is_rejected_naming_the_field():
    raw = msgspec.json.encode(pic(1.0, [track("A", 40.0)])).replace(b'"ballistic"', b'"cruise"')
    with pytest.raises(msgspec.ValidationError, match=r"tracks\[0\]\.mode"):
        msgspec.json.decode(raw, type=Picture)


async def test_subscriber_gets_full_then_deltas_coalesced_at_most_10_hz():
    hub = PictureHub(["jp"], min_interval_s=0.1)
    received: list[tuple[float, PictureDelta]] = []

    async def consume():
        async for d in hub.subscribe("jp"):
            received.append((time.monotonic(), d))

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    start = time.monotonic()
    n_published = 0
    while time.monotonic() - start < 0.55:  # publish far faster than 10 Hz
        n_published += 1
        await hub.publish(pic(float(n_published), [track("A", 40.0 + n_published * 1e-3)]))
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.15)
    await hub.close()
    await asyncio.wait_for(task, 2.0)
    assert received[0][1].full
    assert all(not d.full for _, d in received[1:])
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(received)]
    assert len(received) <= 8, f"{len(received)} deltas for 0.55 s"
    assert min(gaps) >= 0.095
    assert n_published > 3 * len(received)
    # Coalescing loses nothing: the last delta brings the newest picture.
    assert received[-1][1].t_unix_s == float(n_published)


async def test_latest_and_unknown_nation():
    hub = PictureHub(["jp", "kr"])
    assert hub.latest("jp") is None
    p = pic(5.0, [track("A", 40.0)])
    await hub.publish(p)
    assert hub.latest("jp") is p
    with pytest.raises(KeyError, match="'us' is not served"):
        hub.latest("us")
    with pytest.raises(KeyError):
        await hub.publish(pic(1.0, [], nation="us"))
    with pytest.raises(ValueError, match="non-empty subset"):
        PictureHub(["xx"])


async def test_heartbeat_when_nothing_changes():
    hub = PictureHub(["kr"])
    gen = hub.subscribe("kr", heartbeat_s=0.05)
    assert await asyncio.wait_for(gen.__anext__(), 1.0) is None
    await hub.publish(pic(1.0, [], nation="kr"))
    first = await asyncio.wait_for(gen.__anext__(), 1.0)
    assert first is not None and first.full and first.nation == "kr"
    await gen.aclose()
