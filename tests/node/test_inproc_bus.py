"""The in-process bus for calibration runs: the same sealed bytes and admission as over NATS, and a whole
chain on it whose sharing never makes an alert later (tests/node/short_mrbm.yaml, flown on to land)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from triwarn.exercise.metrics import truth_area_passages, truth_ground_tracks
from triwarn.exercise.replay import first_alerts, gain_rows, run_in_process
from triwarn.geo.areas import AreaIndex
from triwarn.node.inproc_bus import InProcessBus
from triwarn.sensors.scenario import load_scenario
from triwarn.sensors.simulate import simulate
from triwarn.share.policy import load_network
from triwarn.share.schema import Heartbeat

HERE = Path(__file__).parent
T = 1_700_000_000.0


def test_messages_pass_admission_and_a_replay_or_forgery_is_refused():
    bus = InProcessBus(load_network(None), exercise="X")
    kr, jp = bus.transport("kr"), bus.transport("jp")
    for tr in (kr, jp):
        tr.clock = lambda: T
    got = []
    asyncio.run(jp.start_receiving(got.append))
    out = kr.sender.seal(Heartbeat, T, to=("jp",), node_state="ok")
    asyncio.run(kr.begin_batch([out]))
    assert [m.msg_id for m in got] == [out.msg.msg_id]
    asyncio.run(kr.begin_batch([out]))  # the same message again: a duplicate, refused
    forged = out.data.replace(b'"kr"', b'"us"', 1)
    jp._receive(forged, out.subjects[0])
    assert len(got) == 1
    assert jp.admission.counters["accepted"] == 1 and jp.admission.counters["duplicate"] == 1
    assert sum(jp.admission.counters.values()) == 3
    other = InProcessBus(load_network(None), exercise="Y").transport("kr")  # another exercise's key and name
    other.clock = lambda: T
    jp._receive(other.sender.seal(Heartbeat, T, to=("jp",), node_state="ok").data, out.subjects[0])
    assert len(got) == 1


def test_messages_are_sealed_to_each_recipient_as_over_nats():
    bus = InProcessBus(load_network(None), exercise="X")
    kr, us, jp = (bus.transport(n) for n in ("kr", "us", "jp"))
    got: dict[str, list] = {"us": [], "jp": []}
    for tr in (kr, us, jp):
        tr.clock = lambda: T
    for n, tr in (("us", us), ("jp", jp)):
        asyncio.run(tr.start_receiving(got[n].append))
    out = kr.sender.seal(Heartbeat, T, to=("us", "jp"), node_state="exercise")
    assert len(out.sealed) == 2 and out.data_for("us") != out.data_for("jp")
    assert b"node_state" not in out.data_for("jp") and b'"sealed"' in out.data_for("jp")
    # Japan's frame handed to the US (as a relay might): the US cannot open it and refuses it.
    us._receive(out.data_for("jp"), out.subjects[out.recipients.index("us")])
    assert got["us"] == [] and us.admission.counters["accepted"] == 0
    asyncio.run(kr.begin_batch([out]))
    assert [m.msg_id for m in got["us"]] == [m.msg_id for m in got["jp"]] == [out.msg.msg_id]
    # A plain signed message is not taken by a node that admits sealed ones only.
    plain = InProcessBus(load_network(None), exercise="X", sealed=False)
    plain.keys["kr"] = bus.keys["kr"]
    open_kr = plain.transport("kr")
    clear = open_kr.sender.seal(Heartbeat, T, to=("jp",), node_state="exercise")
    assert not clear.sealed and b"node_state" in clear.data
    jp._receive(clear.data, clear.subjects[0])
    assert len(got["jp"]) == 1 and jp.admission.counters["accepted"] == 1


@pytest.mark.slow
def test_sharing_never_makes_a_first_shelter_alert_later():
    sc = load_scenario(HERE / "short_mrbm.yaml")
    # The same MRBM on to northern Honshu (1,300 km): Japan's areas get shelter alerts.
    sc.launches = [replace(ev, spec=replace(ev.spec, range_km=1300.0)) for ev in sc.launches]
    sim = simulate(sc, seed=3)
    shared = first_alerts(run_in_process(sim.sensors, sim.measurements, share=True))
    alone = first_alerts(run_in_process(sim.sensors, sim.measurements, share=False))
    rows = gain_rows(shared, alone)
    crossed = {p["area"] for p in truth_area_passages(truth_ground_tracks(sim.paths), AreaIndex.load())
               if p.get("zone") != "eez"}
    assert any(r["first_shelter_shared_unix_s"] is not None and r["area"] in crossed for r in rows)
    for r in rows:
        if r["first_shelter_shared_unix_s"] is not None and r["first_shelter_alone_unix_s"] is not None:
            assert r["gain_s"] >= 0, r
        elif r["first_shelter_alone_unix_s"] is not None:
            # Alone only: allowed where the object never crossed the area (a needless alert avoided).
            assert r["area"] not in crossed, r
        assert r["gain_reason"]
