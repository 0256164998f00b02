import json

import numpy as np
import pytest
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.records.events import decode_line

from .conftest import T0_UNIX_S, state_cov

COV = state_cov(100.0, 2.0)


def _record(t_s, state, mode, track="T1", **extra):
    lat, lon, alt = ecef_to_geodetic(state[:3])
    rec = {"t": T0_UNIX_S + t_s, "track": track, "ecef_m": state[:3].tolist(),
           "vel_ecef_mps": state[3:].tolist(), "cov_ecef_m2": COV.tolist(), "lat_deg": float(np.degrees(lat)),
           "lon_deg": float(np.degrees(lon)), "alt_m": float(alt), "mode": mode}
    rec.update(extra)
    return json.dumps(rec)


@pytest.fixture
def tracks_file(tmp_path, irbm):
    lines = [_record(t, irbm.boost_state(t), "boost") for t in (30.0, 31.0, 32.0)]
    lines += [_record(t, irbm.free_state(t), "ballistic") for t in (240.0, 241.0, 242.0)]
    path = tmp_path / "tracks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_assess_writes_launch_impact_and_area_events(tmp_path, tracks_file, irbm):
    areas = tmp_path / "areas.geojson"
    lat, lon = irbm.impact_lat_deg, irbm.impact_lon_deg
    feats = [{"type": "Feature", "properties": {"code": "US-XX", "zone": "land"},
              "geometry": mapping(box(lon - 1.0, lat - 1.0, lon + 1.0, lat + 1.0))}]
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    out = tmp_path / "events.jsonl"
    args = ["assess", "--tracks", str(tracks_file), "--out", str(out), "--areas", str(areas)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    for line in out.read_text().splitlines():
        decode_line(line)  # every line is a valid typed event
    types = {e["type"] for e in events}
    assert {"launch", "impact_prediction", "area_risk"} <= types
    launch = next(e for e in events if e["type"] == "launch")
    assert abs(launch["lat_deg"] - irbm.launch_lat_deg) < 0.3 and abs(launch["time_unix_s"] - T0_UNIX_S) < 30
    powered = [e for e in events if e["type"] == "impact_prediction" and e["powered"]]
    assert powered and all(e["corridor"] for e in powered)
    last = next(e for e in events if e["type"] == "impact_prediction" and e["t"] == T0_UNIX_S + 242.0)
    assert last["confidence"] == 0.95 and not last["powered"]
    for key in ("track", "lat_deg", "lon_deg", "time_unix_s", "semi_major_m", "semi_minor_m"):
        assert key in last
    assert "orientation_deg" in last
    # Area risk is recomputed every 5 s per track: the free-flight one is from the first ballistic report.
    risk = [e for e in events
            if e["type"] == "area_risk" and e["t"] >= T0_UNIX_S + 240.0 and e["kind"] == "impact"]
    assert risk and risk[0]["area"] == "US-XX" and risk[0]["probability"] > 0.9


@pytest.mark.parametrize(
    ("bad_line", "needle"),
    [
        ("{not json", "tracks.jsonl:4"),
        ('{"t": 1, "track": "a", "vel_ecef_mps": [0, 0, 0], "cov_ecef_m2": [[1]], "mode": "boost"}',
         "field 'ecef_m'"),
        ('{"t": 1, "track": "a", "ecef_m": [1, 2], "vel_ecef_mps": [0, 0, 0], "cov_ecef_m2": [[1]], '
         '"mode": "boost"}', "field 'ecef_m'"),
        ('{"t": 1, "track": "a", "ecef_m": [7e6, 0, 0], "vel_ecef_mps": [0, 0, 0], '
         '"cov_ecef_m2": [[1, 0], [0, 1]], "mode": "boost"}', "field 'cov_ecef_m2'"),
        ('{"t": 1, "track": "a", "ecef_m": [7e6, 0, 0], "vel_ecef_mps": [0, 0, 0], '
         '"cov_ecef_m2": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "mode": "coasting"}', "field 'mode'"),
        ('{"t": "soon", "track": "a", "ecef_m": [7e6, 0, 0], "vel_ecef_mps": [0, 0, 0], '
         '"cov_ecef_m2": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "mode": "boost"}', "field 't'"),
    ],
)
def test_reader_errors_name_file_line_and_field_and_exit_2(tmp_path, tracks_file, bad_line, needle):
    good = tracks_file.read_text().splitlines()
    bad = tmp_path / "tracks.jsonl"
    bad.write_text("\n".join([*good[:3], bad_line, *good[3:]]) + "\n")
    out = tmp_path / "events.jsonl"
    res = CliRunner().invoke(app, ["assess", "--tracks", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "tracks.jsonl:4" in res.output and needle in res.output


def test_missing_tracks_file_is_an_input_error(tmp_path):
    res = CliRunner().invoke(app, ["assess", "--tracks", str(tmp_path / "nope.jsonl"), "--out",
                                   str(tmp_path / "e.jsonl")])
    assert res.exit_code == 2 and "nope.jsonl" in res.output


def test_two_nations_files_are_fused_into_one_system_track(tmp_path, irbm):
    rng = np.random.default_rng(4)
    for nation in ("jp", "kr"):
        lines = []
        for t in (240.0, 241.0, 242.0):
            s = irbm.free_state(t) + rng.multivariate_normal(np.zeros(6), COV)
            lines.append(_record(t, s, "ballistic", track=f"{nation}-7"))
        (tmp_path / f"{nation}.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "events.jsonl"
    res = CliRunner().invoke(app, ["assess", "--tracks", str(tmp_path / "jp.jsonl"), "--tracks",
                                   str(tmp_path / "kr.jsonl"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    impacts = [json.loads(x) for x in out.read_text().splitlines() if '"impact_prediction"' in x]
    assert len(impacts) == 3 and {e["track"] for e in impacts} == {"S1"}
    assert all(e["nations"] == ["jp", "kr"] for e in impacts)
