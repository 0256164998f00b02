"""The picture of a satellite launch (issue 14): an orbit's ground track ahead with the time it enters
each area, the declared hazard zones, and each predicted fall against its zone."""

from __future__ import annotations

import math
from types import SimpleNamespace

import msgspec
import numpy as np
import pytest

from triwarn.api.picture import PictureDelta, PictureHub, apply_delta, picture_delta
from triwarn.api.picture_feed import PictureFeed
from triwarn.assess.orbit import estimate_orbit
from triwarn.geo.areas import AreaIndex
from triwarn.geo.frames import geodetic_to_ecef
from triwarn.geo.wgs84 import GM_M3_S2
from triwarn.node.orbit_sharing import orbit_record, report_fields
from triwarn.records.events import ImpactPrediction
from triwarn.sensors.scenario import bundled_dir, load_scenario
from triwarn.share.schema import OrbitReport

T = 1_700_574_800.0


def _orbit_over_kyushu(track: str):
    """A 500 km orbit whose ground track starts over Kyushu (33N 130.5E) heading north-east."""
    lat, lon = math.radians(33.0), math.radians(130.5)
    pos = np.asarray(geodetic_to_ecef(lat, lon, 500e3), float).reshape(3)
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    north = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)])
    az = math.radians(40.0)
    vel = math.sqrt(GM_M3_S2 / np.linalg.norm(pos)) * (math.sin(az) * east + math.cos(az) * north)
    est = estimate_orbit(track, T, pos, vel, np.diag([200.0**2] * 3 + [2.0**2] * 3))
    return orbit_record(est, T, "jp")


def _step(t, ids, events=(), orbits=(), partner_orbits=()):
    n = len(ids)
    st = SimpleNamespace(
        track_id=np.array(ids, dtype=object), lat_deg=np.full(n, 33.0), lon_deg=np.full(n, 130.5),
        alt_m=np.full(n, 5e5), vel_ecef_mps=np.tile([7000.0, 0.0, 0.0], (n, 1)), boost=np.zeros(n, bool),
        nations=[("jp",)] * n, sources=np.array([()] * n, dtype=object))
    return SimpleNamespace(t_unix_s=t, events=list(events), system_tracks=st, warnings=[], orbits=list(orbits),
                           partner_orbits=list(partner_orbits))


@pytest.fixture(scope="module")
def notice():
    return load_scenario(bundled_dir() / "2023-11-21-slv-orbit.yaml").hazard_notice


def test_an_orbit_shows_its_ground_track_ahead_and_the_areas_it_crosses(notice):
    feed = PictureFeed(PictureHub(["jp"]), "SLV", hazard_notice=notice, areas=AreaIndex.load())
    rec = _orbit_over_kyushu("JP-S1")
    partner = OrbitReport(msg_id="a" * 32, sender="kr", seq=1, epoch=0, sent_unix_s=T, mode="exercise",
                          exercise="SLV", **report_fields(_orbit_over_kyushu("KR-S4")))
    pic = feed.picture("jp", _step(T + 5.0, ["JP-S1"], orbits=[rec], partner_orbits=[partner]))
    own, theirs = pic.orbits
    assert (own.track, theirs.track) == ("JP-S1", "kr:KR-S4")
    assert own.ground_track[0][0] == T + 5.0 and own.ground_track[-1][0] == pytest.approx(T + 5.0 + 1200.0)
    # 5 s after epoch at 7.6 km/s: about 38 km north-east of the start.
    assert own.ground_track[0][1] == pytest.approx(33.0, abs=0.6) and own.ground_track[0][2] == pytest.approx(
        130.5, abs=0.6)
    assert own.incl_deg == pytest.approx(rec.incl_deg) and 480 < own.perigee_km < 520
    entered = {a.area: a.enter_unix_s for a in own.areas_over}
    assert any(code.startswith("JP-") for code in entered), entered
    times = [a.enter_unix_s for a in own.areas_over]
    assert times == sorted(times) and times[0] <= T + 5.0 + 120.0
    # A track the view no longer holds takes its orbit with it; the partner's stays while recent.
    pic = feed.picture("jp", _step(T + 6.0, [], orbits=[rec], partner_orbits=[partner]))
    assert [o.track for o in pic.orbits] == ["kr:KR-S4"]
    pic = feed.picture("jp", _step(T + 200.0, [], orbits=[rec], partner_orbits=[partner]))
    assert pic.orbits == []


def test_declared_zones_are_in_every_picture_and_each_fall_names_its_zone(notice):
    feed = PictureFeed(PictureHub(["jp", "kr"]), "SLV", hazard_notice=notice, areas=AreaIndex.load())
    zone = notice.zones[0]
    c = zone.polygon.centroid
    inside = ImpactPrediction(t=T, track="JP-S2", lat_deg=c.y, lon_deg=c.x, time_unix_s=T + 60, semi_major_m=5e3,
                              semi_minor_m=2e3, orientation_deg=0.0, object="separated")
    outside = ImpactPrediction(t=T, track="JP-S3", lat_deg=c.y, lon_deg=c.x + 10.0, time_unix_s=T + 90,
                               semi_major_m=5e3, semi_minor_m=2e3, orientation_deg=0.0, object="separated")
    pic = feed.picture("jp", _step(T, ["JP-S2", "JP-S3"], [inside, outside]))
    assert [z.label for z in pic.hazard_zones] == [z.label for z in notice.zones]
    assert pic.hazard_zones[0].corners == [tuple(p) for p in zone.corners_deg]
    assert pic.hazard_zones[0].window_end_unix_s == notice.window_end_unix_s
    falls = {i.track: (i.zone, i.zone_km) for i in pic.impacts}
    assert falls["JP-S2"] == (zone.label, 0.0)
    assert falls["JP-S3"][1] > 100.0
    assert [z.label for z in feed.picture("kr", _step(T, [])).hazard_zones] == [z.label for z in notice.zones]


def test_orbits_and_zones_travel_in_deltas(notice):
    feed = PictureFeed(PictureHub(["jp"]), "SLV", hazard_notice=notice, areas=AreaIndex.load())
    rec = _orbit_over_kyushu("JP-S1")
    p1 = feed.picture("jp", _step(T, ["JP-S1"]))
    p2 = feed.picture("jp", _step(T + 1.0, ["JP-S1"], orbits=[rec]))
    full = picture_delta(None, p1)
    d = picture_delta(p1, p2)
    assert d.hazard_zones is None and d.orbits is not None and len(d.orbits) == 1
    wire = msgspec.json.decode(msgspec.json.encode(d), type=PictureDelta)
    held = apply_delta(apply_delta(None, full), wire)
    assert held.orbits == p2.orbits and held.hazard_zones == p1.hazard_zones
