"""CoT events, and their round trip through a real TAK server (taky) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree
from warn_fixtures import AREAS, T0, overflight_timeline, run

from triwarn.warn.cot import (
    CotSender,
    area_events,
    cot_time,
    ellipse_event,
    message_events,
    track_event,
)


def _track(t=T0 + 100.0, lat=40.9, lon=129.9):
    return track_event(
        sender="jp-node",
        track_id="W1",
        t_unix_s=t,
        lat_deg=lat,
        lon_deg=lon,
        hae_m=512_345.6,
        ce_m=850.0,
        le_m=1200.0,
        course_deg=88.0,
        speed_mps=3100.0,
    )


def _ellipse(t=T0 + 100.0):
    return ellipse_event(
        sender="jp-node",
        track_id="W1",
        t_unix_s=t,
        lat_deg=40.9,
        lon_deg=170.0,
        semi_major_m=60_000.0,
        semi_minor_m=20_000.0,
        orientation_deg=88.0,
        impact_time_unix_s=T0 + 1300.0,
    )


def test_times_are_utc_z_with_milliseconds():
    assert cot_time(T0 + 0.25) == "2022-10-03T22:22:00.250Z"
    ev = etree.fromstring(_track())
    for name in ("time", "start", "stale"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ev.get(name))
    assert ev.get("stale") > ev.get("time")


def test_track_ellipse_and_area_have_their_types_and_fields():
    trk = etree.fromstring(_track())
    assert (trk.get("type"), trk.get("how"), trk.get("uid")) == ("a-h-A-W-M-S-S", "m-f", "jp-node.track.W1")
    pt = trk.find("point")
    assert (pt.get("hae"), pt.get("ce"), pt.get("le")) == ("512345.6", "850.0", "1200.0")
    assert trk.find("detail/track").get("course") == "88.0"
    ell = etree.fromstring(_ellipse())
    assert ell.get("type") == "u-d-c-e"
    shape = ell.find("detail/shape/ellipse")
    # Full axis lengths (ATAK halves them to draw); ce is the 1-sigma semi-major axis of the 95% ellipse.
    assert (shape.get("major"), shape.get("minor"), shape.get("angle")) == ("120000.0", "40000.0", "88.0")
    assert float(ell.find("point").get("ce")) == pytest.approx(60_000.0 / 2.4477, rel=1e-3)
    assert ell.find("point").get("le") == "9999999.0"  # unknown
    [area] = area_events(
        sender="jp-node",
        incident="R1-1",
        code="JP-02",
        state="shelter",
        geometry=AREAS["JP-02"],
        t_unix_s=T0 + 60.0,
        how="m-s",
    )
    ev = etree.fromstring(area)
    # how="m-s" (the old exercise mark) becomes the true source plus an opex mark.
    assert (ev.get("type"), ev.get("how"), ev.get("opex")) == ("u-d-f", "m-f", "e-exercise")
    points = [link.get("point") for link in ev.iterfind("detail/link")]
    assert len(points) >= 4 and points[0] == points[-1]
    assert all(40.0 < float(p.split(",")[0]) < 42.0 for p in points)  # lat,lon


def test_uids_stay_the_same_for_the_life_of_a_track_or_shape(exercise_machine):
    assert etree.fromstring(_track(T0 + 100)).get("uid") == etree.fromstring(_track(T0 + 105)).get("uid")
    assert etree.fromstring(_ellipse(T0 + 100)).get("uid") == etree.fromstring(_ellipse(T0 + 200)).get("uid")
    msgs = [m for _t, m in run(exercise_machine(), overflight_timeline(), T0, T0 + 1000)]
    uids_by_msg = [{etree.fromstring(e).get("uid") for e in message_events(m)} for m in msgs]
    jp02 = [u for u in uids_by_msg[0] if ".JP-02" in u]
    # One state per message: JP-02 is in some messages only, always under the same uid.
    with_jp02 = [m for m in msgs if any(a.code == "JP-02" for a in m.areas)]
    assert len(jp02) == 1 and len(with_jp02) >= 3
    assert all(jp02[0] in uids for m, uids in zip(msgs, uids_by_msg, strict=True) if m in with_jp02)
    states = [
        etree.fromstring(e).find("detail/remarks").text
        for m in msgs
        for e in message_events(m)
        if ".JP-02" in etree.fromstring(e).get("uid")
    ]
    assert "shelter" in states[0] and "clear" in states[-1]
    assert all(etree.fromstring(e).get("how") == "m-f" for e in message_events(msgs[0]))
    assert all(etree.fromstring(e).get("opex") == "e-Orange-Sky-1" for e in message_events(msgs[0]))


# ---------------------------------------------------------------------------------------- taky round trip


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _semantic(ev: etree._Element) -> tuple:
    """An event as comparable data: attributes, point values, and the detail in canonical form."""
    pt = ev.find("point")
    detail = ev.find("detail")
    return (
        dict(ev.attrib),
        {k: float(v) for k, v in pt.attrib.items()},
        etree.tostring(detail, method="c14n") if detail is not None else None,
    )


@pytest.fixture
def taky_server(tmp_path: Path):
    """A taky 0.10 COT server on a free loopback port, configured by its config file; stopped after."""
    pytest.importorskip("taky", reason="taky==0.10 is the TAK peer for this test (pip install taky==0.10)")
    port = _free_port()
    root = tmp_path / "taky"
    root.mkdir()
    conf = tmp_path / "taky.conf"
    conf.write_text(
        f"[taky]\nhostname = localhost\nnode_id = TRIWARN-TEST\nbind_ip = 127.0.0.1\n"
        f"root_dir = {root}\n\n[cot_server]\nport = {port}\n\n"
        f"[dp_server]\nupload_path = {root / 'dp-user'}\n\n[ssl]\nenabled = false\n"
    )
    taky_bin = Path(sys.executable).with_name("taky")
    cmd = [str(taky_bin)] if taky_bin.exists() else [sys.executable, "-m", "taky.cot"]
    proc = subprocess.Popen(
        [*cmd, "-c", str(conf), "-l", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 15.0
        while True:
            if proc.poll() is not None:
                pytest.fail(f"taky exited: {proc.stderr.read().decode(errors='replace')}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                pytest.fail("taky did not start listening within 15 s")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def _read_events(
    reader: asyncio.StreamReader,
    parser: etree.XMLPullParser,
    want: set[str],
    got: dict[str, etree._Element],
    timeout_s: float,
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not want <= set(got):
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise TimeoutError(f"taky relayed {sorted(got)}, wanted {sorted(want)}")
        data = await asyncio.wait_for(reader.read(65536), timeout=left)
        if not data:
            raise ConnectionError("taky closed the reading connection")
        parser.feed(data)
        for _action, ev in parser.read_events():
            got[ev.get("uid")] = ev


@pytest.mark.slow
async def test_events_round_trip_unchanged_through_taky(taky_server, exercise_machine):
    port = taky_server
    msgs = [m for _t, m in run(exercise_machine(), overflight_timeline(), T0, T0 + 100)]
    # JP-02's shelter order and JP-03's, alerted later in a message of its own.
    events = [_track(), _ellipse(), *message_events(msgs[0]), *message_events(msgs[-1])]
    sent = {etree.fromstring(e).get("uid"): etree.fromstring(e) for e in events}
    assert len(sent) == len(events) >= 4

    reader, reader_w = await asyncio.open_connection("127.0.0.1", port)
    parser = etree.XMLPullParser(events=("end",), tag="event")
    parser.feed(b"<stream>")
    got: dict[str, etree._Element] = {}
    async with CotSender("127.0.0.1", port) as tak:
        # Wait until the server has both clients registered: a probe must come through first.
        for i in range(50):
            probe = track_event(
                sender="probe",
                track_id=str(i),
                t_unix_s=time.time(),
                lat_deg=0.0,
                lon_deg=0.0,
                hae_m=0.0,
                ce_m=None,
                le_m=None,
            )
            await tak.send([probe])
            try:
                await _read_events(reader, parser, {f"probe.track.{i}"}, got, 0.2)
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("no probe came back through taky")
        await tak.send(events)
        await _read_events(reader, parser, set(sent), got, 10.0)
        assert tak.sent_count >= len(events) + 1
    reader_w.close()
    await reader_w.wait_closed()
    for uid, ev in sent.items():
        # taky 0.10 rebuilds <event> from the attributes it knows and drops opex (the exercise mark):
        # everything else must arrive unchanged; a TAK client reading opex needs a server that keeps it.
        want = _semantic(ev)
        assert want[0].get("opex", "e-Orange-Sky-1").startswith("e-")
        assert _semantic(got[uid]) == ({k: v for k, v in want[0].items() if k != "opex"}, *want[1:]), uid
