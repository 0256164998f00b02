"""@tak-ps/node-cot (npm; installed by `make test` into tests/warn/node_cot) parses every kind of CoT event
triwarn writes: the missile track (with course and speed), the impact ellipse, its polygon and an alert
area."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree
from warn_fixtures import AREAS, EXERCISE, T0

from triwarn.warn import cot

NODE_COT = Path(__file__).parent / "node_cot"


def _parse(events: list[bytes]) -> list[dict]:
    node = shutil.which("node")
    assert node, "node (Node.js) is needed: make test installs @tak-ps/node-cot with npm"
    assert (NODE_COT / "node_modules" / "@tak-ps" / "node-cot").is_dir(), "run make test (npm ci in node_cot)"
    proc = subprocess.run([node, str(NODE_COT / "parse_cot.mjs")], input=json.dumps([e.decode() for e in events]),
                          capture_output=True, text=True, timeout=60, cwd=NODE_COT, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_node_cot_parses_every_kind_of_event():
    common = dict(sender="triwarn-jp", t_unix_s=T0, exercise=EXERCISE)
    track = cot.track_event(track_id="W1", lat_deg=40.9, lon_deg=135.0, hae_m=400_000.0, ce_m=850.0, le_m=1200.0,
                            course_deg=88.0, speed_mps=3100.0, **common)
    ellipse, polygon = cot.impact_events(track_id="W1", lat_deg=40.9, lon_deg=170.0, semi_major_m=60_000.0,
                                         semi_minor_m=20_000.0, orientation_deg=30.0, **common)
    [area, *_] = cot.area_events(incident="R1-1", code="JP-02", state="shelter", geometry=AREAS["JP-02"], **common)
    events = [track, ellipse, polygon, area]
    parsed = _parse(events)
    assert [p["ok"] for p in parsed] == [True] * len(events), parsed
    feats = [p["feature"] for p in parsed]
    for ev, feat in zip(events, feats, strict=True):
        assert feat["id"] == etree.fromstring(ev).get("uid")
        assert feat["properties"]["type"] == etree.fromstring(ev).get("type")
    assert feats[0]["geometry"] == {"type": "Point", "coordinates": [135.0, 40.9, 400000.0]}
    assert (feats[0]["properties"]["course"], feats[0]["properties"]["speed"]) == (88, 3100)
    assert feats[1]["geometry"]["type"] == "Point"  # node-cot draws ellipses only for circles (u-d-c-c)
    for feat, ev in ((feats[2], polygon), (feats[3], area)):
        assert feat["geometry"]["type"] == "Polygon"
        ring = feat["geometry"]["coordinates"][0]
        links = [tuple(map(float, link.get("point").split(","))) for link in etree.fromstring(ev).iter("link")]
        assert len(ring) == len(links)
        assert ring[0][:2] == pytest.approx([links[0][1], links[0][0]], abs=1e-5)  # lon,lat from lat,lon
