"""Satellite launches in CoT (issue 14): an orbit's ground track ahead as a line, the declared hazard zones
as polygons; both parsed by @tak-ps/node-cot as a TAK client would."""

from __future__ import annotations

import pytest
from lxml import etree
from test_warn_node_cot import _parse
from warn_fixtures import EXERCISE, T0

from triwarn.sensors.scenario import bundled_dir, load_scenario
from triwarn.warn import cot

# A ground track crossing the antimeridian between its third and fourth points.
GROUND = [(T0 + 30.0 * k, 10.0 - 2.0 * k, lon) for k, lon in enumerate((176.0, 177.5, 179.0, -179.5, -178.0))]


def _zones():
    notice = load_scenario(bundled_dir() / "2023-11-21-slv-orbit.yaml").hazard_notice
    assert notice is not None and len(notice.zones) >= 2
    return notice


def test_the_orbit_is_split_at_the_antimeridian_and_the_zone_ring_is_closed():
    parts = cot.orbit_track_events(sender="triwarn-jp", track_id="JP-S1", t_unix_s=T0, ground_track=GROUND,
                                   perigee_km=493.0, apogee_km=512.0, incl_deg=97.4, exercise=EXERCISE)
    assert [etree.fromstring(p).get("uid") for p in parts] == ["triwarn-jp.orbit.JP-S1", "triwarn-jp.orbit.JP-S1.1"]
    first = etree.fromstring(parts[0])
    assert [lk.get("point") for lk in first.iter("link")] == ["10.00000,176.00000", "8.00000,177.50000",
                                                                "6.00000,179.00000"]
    assert first.find("detail/fillColor") is None and "97.4" in first.findtext("detail/remarks")
    assert first.get("opex") == f"e-{EXERCISE}"
    notice = _zones()
    z = notice.zones[0]
    [ev] = cot.hazard_zone_events(sender="triwarn-jp", label=z.label, piece=z.role, corners_deg=list(z.corners_deg),
                                  window_start_unix_s=notice.window_start_unix_s,
                                  window_end_unix_s=notice.window_end_unix_s, t_unix_s=T0)
    doc = etree.fromstring(ev)
    links = [lk.get("point") for lk in doc.iter("link")]
    assert doc.get("uid") == f"triwarn-jp.zone.{z.label}"
    assert links[0] == links[-1] and len(links) == len(z.corners_deg) + 1
    assert doc.find("detail/fillColor") is not None


@pytest.mark.slow
def test_node_cot_reads_the_orbit_as_a_line_and_the_zone_as_a_polygon():
    [line, _rest] = cot.orbit_track_events(sender="triwarn-jp", track_id="JP-S1", t_unix_s=T0, ground_track=GROUND,
                                           perigee_km=493.0, apogee_km=512.0, incl_deg=97.4)
    notice = _zones()
    z = notice.zones[0]
    [zone] = cot.hazard_zone_events(sender="triwarn-jp", label=z.label, piece=z.role, corners_deg=list(z.corners_deg),
                                    window_start_unix_s=notice.window_start_unix_s,
                                    window_end_unix_s=notice.window_end_unix_s, t_unix_s=T0)
    parsed = _parse([line, zone])
    assert [p["ok"] for p in parsed] == [True, True], parsed
    line_geo, zone_geo = (p["feature"]["geometry"] for p in parsed)
    assert line_geo["type"] == "LineString" and len(line_geo["coordinates"]) == 3
    assert line_geo["coordinates"][0][:2] == pytest.approx([176.0, 10.0])
    assert zone_geo["type"] == "Polygon"
    assert zone_geo["coordinates"][0][0][:2] == pytest.approx([z.corners_deg[0][1], z.corners_deg[0][0]], abs=1e-5)
