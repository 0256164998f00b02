"""The warning stage over recorded files: events.jsonl and tracks.jsonl in, CAP, CoT and a feed out."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from shapely.geometry import mapping
from warn_fixtures import AREAS, lon_at, overflight_timeline

from triwarn.errors import InputError
from triwarn.warn.cap import validate_cap
from triwarn.warn.commands import load_area_outlines, run_warn
from triwarn.warn.feed import ATOM_NS


def _write_inputs(tmp_path, *, exercise_field=False):
    tl = overflight_timeline()
    events, tracks = [], []
    for t in sorted(tl):
        for ev in tl[t]:
            ev = {k: v for k, v in ev.items() if exercise_field or k != "exercise"}
            if ev["type"] == "track":
                tracks.append(
                    {
                        "t": ev["t"],
                        "track": ev["track"],
                        "lat_deg": ev["lat_deg"],
                        "lon_deg": ev["lon_deg"],
                        "alt_m": ev["alt_m"],
                        "mode": "ballistic",
                    }
                )
            else:
                events.append(ev)
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (tmp_path / "tracks.jsonl").write_text("".join(json.dumps(e) + "\n" for e in tracks))
    feats = [
        {"type": "Feature", "properties": {"code": code, "zone": "land"}, "geometry": mapping(geom)}
        for code, geom in AREAS.items()
    ]
    feats.append(
        {
            "type": "Feature",
            "properties": {"code": "JP-02", "zone": "eez"},
            "geometry": mapping(AREAS["JP-02"].buffer(3.0)),
        }
    )
    (tmp_path / "areas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))


def test_run_warn_writes_valid_cap_cot_and_feed(tmp_path):
    _write_inputs(tmp_path)
    out = tmp_path / "out"
    counts = run_warn(
        tmp_path / "events.jsonl",
        out,
        sender="triwarn.jp-node",
        exercise="Orange-Sky-1",
        tracks=tmp_path / "tracks.jsonl",
        areas=tmp_path / "areas.geojson",
    )
    # Two Alerts: JP-02's shelter order, and JP-03's when it is put at risk later (it supersedes nothing).
    assert counts["Alert"] == 2 and counts["Update"] >= 3 and counts["Cancel"] == 0
    caps = sorted((out / "cap").glob("*.xml"))
    assert len(caps) == sum(counts.values())
    assert all(validate_cap(p.read_bytes()) == [] for p in caps)
    log = [json.loads(line) for line in (out / "warnings.jsonl").read_text().splitlines()]
    jp02 = [r for r in log if "JP-02" in r["areas"]]
    assert [r["areas"]["JP-02"] for r in jp02][:2] == ["shelter", "passed"]
    t_pass = jp02[1]["t"]
    assert lon_at(t_pass) > 141.7  # passed only once the tracks showed the missile beyond JP-02
    assert set(log[-1]["areas"].values()) == {"clear"}
    feed = etree.parse(str(out / "feed.atom")).getroot()
    assert len(feed.findall(f"{{{ATOM_NS}}}entry")) == len(caps)
    cot_files = list((out / "cot").glob("*.xml"))
    types = {etree.fromstring(p.read_bytes()).get("type") for p in cot_files}
    assert types == {"u-d-f", "u-d-c-e"}
    assert all(etree.fromstring(p.read_bytes()).get("how") == "m-f" for p in cot_files)  # the true source
    assert all(etree.fromstring(p.read_bytes()).get("opex") == "e-Orange-Sky-1" for p in cot_files)


def test_run_warn_refuses_mixed_modes_and_names_bad_lines(tmp_path):
    _write_inputs(tmp_path, exercise_field=True)
    with pytest.raises(InputError, match=r"events.jsonl:\d+: field 'exercise'.*live issuer"):
        run_warn(tmp_path / "events.jsonl", tmp_path / "o1", sender="triwarn.jp-node", live=True)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    lines[3] = json.dumps({**json.loads(lines[3]), "lat_deg": 123.0})
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"events.jsonl:4: field 'lat_deg'"):
        run_warn(
            tmp_path / "events.jsonl", tmp_path / "o2", sender="triwarn.jp-node", exercise="Orange-Sky-1"
        )
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [{"properties": {"code": "JP-02"}}]}))
    with pytest.raises(InputError, match="zone"):
        load_area_outlines(bad)
