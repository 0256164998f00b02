"""The bundled 2023-11-21 satellite launch through the warning chain with its declared zones (issue 14):
simulate (seed 1), then Korea's and Japan's nodes alone (no NATS; tests/node covers sharing) in lockstep
on 2 s steps, their warning policies carrying the scenario's navigational warning.

Checked against the flight's truth: each node gives the first stage's fall (zone A) and the fairing's
(zone B) a notice before the piece is down, aimed at the sea and naming the zone it falls in; every notice
is of a real fall; no piece puts anyone in shelter.
"""

from __future__ import annotations

import asyncio
import contextlib
import io

import numpy as np
import pytest
from lxml import etree

from triwarn.geo.areas import AreaIndex
from triwarn.geo.geodesic import inverse
from triwarn.node.core import NationalNode, NodeSettings
from triwarn.node.lockstep import NodeFeed, run_lockstep
from triwarn.physics.slv import fly_slv
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.sensors.scenario import bundled_dir, load_scenario
from triwarn.warn import cap, profiles
from triwarn.warn.fall_notice import SEA_SUFFIX, PieceFall
from triwarn.warn.policy import WarnPolicy

NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
NATIONS = ("kr", "jp")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    path = bundled_dir() / "2023-11-21-slv-orbit.yaml"
    sc = load_scenario(path)
    ev = sc.launches[0]
    falls = {p["object_id"]: (ev.t_unix_s + p["t_s"], p["lat_deg"], p["lon_deg"])
             for p in fly_slv(ev.spec, sc.flight_dt_s).extra["pieces"] if p["fell"]}
    sim = tmp_path_factory.mktemp("slv")
    with contextlib.redirect_stderr(io.StringIO()):
        run_simulate(scenario=path, out=sim, seed=1, quiet=True)
    sensors = load_sensors(sim / "sensors.yaml")
    log = read_measurements(sim / "measurements.jsonl", sensors)
    areas = AreaIndex.load()
    nodes = {}
    for n in NATIONS:
        settings = NodeSettings(nation=n, exercise="SLV-TEST", run_id=f"F{n}", share=False,
                                hazard_notice=sc.hazard_notice, warn_policy=WarnPolicy(hazard_notice=sc.hazard_notice))
        own = {sid: s for sid, s in sensors.items() if getattr(s, "nation", None) == n}
        nodes[n] = NationalNode(settings, own, areas=areas)
    feeds = {n: NodeFeed.for_nation(log, sensors, n) for n in NATIONS}
    times = np.arange(np.floor(ev.t_unix_s), falls["fairing"][0] + 30.0, 2.0)
    asyncio.run(run_lockstep(nodes, feeds, times))
    return falls, {n: node.issued for n, node in nodes.items()}


def _notices(msgs):
    return [m for m in msgs if any(a.state == "notice" for a in m.areas)]


@pytest.mark.slow
@pytest.mark.parametrize("nation", NATIONS)
def test_the_first_stage_and_fairing_falls_get_notices_naming_their_zones_before_they_fall(chain, nation):
    falls, issued = chain
    notices = _notices(issued[nation])
    for piece, zone in (("stage1", "A"), ("fairing", "B")):
        t_fall, lat, lon = falls[piece]
        told = [m for m in notices if float(inverse(lat, lon, m.impact.lat_deg, m.impact.lon_deg)[0]) < 30e3]
        assert told, f"{nation}: no notice for the {piece}'s fall"
        first = told[0]
        assert first.sent_unix_s < t_fall - 60.0
        assert isinstance(first.impact, PieceFall) and first.impact.verdict == (zone, True)
        assert first.impact.zone_piece == piece  # the zone declared for that very piece


@pytest.mark.slow
def test_every_notice_is_a_real_fall_aimed_at_sea_and_no_piece_shelters_anyone(chain):
    falls, issued = chain
    for nation, msgs in issued.items():
        for m in _notices(msgs):
            (area,) = m.areas
            assert area.code.endswith(SEA_SUFFIX)
            # Of a piece that falls (never the orbiting payload), near where it falls.
            assert min(float(inverse(lat, lon, m.impact.lat_deg, m.impact.lon_deg)[0])
                       for _t, lat, lon in falls.values()) < 30e3, (nation, m.impact)
            xml = cap.to_cap(m, sign=False)
            doc = etree.fromstring(xml)
            assert doc.findall(".//c:geocode", namespaces=NS) == [] and doc.findall(".//c:circle", namespaces=NS)
            assert profiles.check_profile(xml, profiles.profile_for_sender(m.sender)) == []
        # A shelter order here is for the overflight only: no piece's fall puts an area in shelter.
        assert not [a for m in msgs for a in m.areas if a.state == "shelter" and a.kind == "impact"], nation
