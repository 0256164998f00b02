"""The exercise scores each falling piece against its declared zone (issue 14): summary.json, metrics.json
and report.html carry, per piece, its true fall point, its zone, inside or how far outside, each node's
last predicted fall and its error, and whether a sea notice named the zone.

The unit tests build the truth by hand; the slow ones run the August 2023 failure (the real third stage's
pieces fell outside the declared zones) and the November 2023 orbit (every piece inside its zone)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from triwarn.exercise.engine import ExerciseOptions, run_exercise
from triwarn.exercise.falls import fall_table, fallen_pieces, falls_summary
from triwarn.exercise.metrics import Recorder
from triwarn.exercise.plan import load_plan
from triwarn.exercise.report import _falls_table
from triwarn.geo.frames import geodetic_to_ecef
from triwarn.geo.hazard_zones import parse_notice
from triwarn.sensors.paths import ObjectPaths
from triwarn.sensors.scenario import bundled_dir

NOTICE = parse_notice("""NAVAREA XI 0700/23
DPRK. ROCKET LAUNCHING 231500Z AUG TO 301500Z AUG 23 IN AREAS BOUNDED BY:
A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-30E, 35-19N 124-54E. (FIRST STAGE)
C. 19-44N 123-53E, 19-43N 124-51E, 17-01N 123-52E, 17-00N 124-48E. (SECOND STAGE)
""")
T0 = 1_692_816_660.0


def _paths(ends: dict[str, tuple[float, float, float]]) -> ObjectPaths:
    """One object per entry, flying 100 s from 39.7 N 124.7 E at 100 km to its end (lat, lon, alt m)."""
    t = T0 + np.arange(0.0, 101.0)
    pos, ids = [], []
    for oid, (lat, lon, alt) in ends.items():
        f = np.linspace(0.0, 1.0, t.size)
        pos.append(geodetic_to_ecef(np.radians(39.7 + f * (lat - 39.7)), np.radians(124.7 + f * (lon - 124.7)),
                                    100e3 + f * (alt - 100e3)))
        ids.append(oid)
    n = len(ids)
    return ObjectPaths(ids, ["warhead" if i.endswith("payload") else "stage" for i in ids], ["L1"] * n,
                       np.tile(t, n), np.concatenate(pos), np.zeros((n * t.size, 3)), np.zeros(n * t.size, bool),
                       np.arange(n + 1) * t.size)


def test_each_fallen_piece_is_scored_with_the_nodes_predictions_and_notices():
    paths = _paths({"L1/payload": (-20.0, 110.0, 500e3), "L1/stage1": (35.7, 124.7, 0.0),
                    "L1/stage2": (15.0, 124.3, 0.0)})
    assert [paths.object_ids[o] for o, *_ in fallen_pieces(paths)] == ["L1/stage1", "L1/stage2"]  # not the orbit
    rec = Recorder(paths)
    rec.fall_predictions[("jp", "L1/stage2")] = {"t_unix_s": T0 + 40, "lat_deg": 15.1, "lon_deg": 124.3,
                                                  "time_unix_s": T0 + 100, "track": "JP-4"}
    # jp's notice came from a track attributed to stage 2; kr's track was never attributed: nearest fall
    rec.fall_notices += [
        {"node": "jp", "sent_unix_s": T0 + 45, "identifier": "jp.1", "msg_type": "Alert", "track": "JP-4",
         "object": "L1/stage2", "lat_deg": 15.1, "lon_deg": 124.3, "zone": "C", "inside": False, "zone_km": 210.0},
        {"node": "kr", "sent_unix_s": T0 + 20, "identifier": "kr.1", "msg_type": "Alert", "track": "KR-2",
         "object": None, "lat_deg": 35.6, "lon_deg": 124.6, "zone": "A", "inside": True, "zone_km": 0.0}]
    rows = {r["piece"]: r for r in fall_table(paths, NOTICE, rec, ["jp", "kr"])}
    assert set(rows) == {"stage1", "stage2"}
    s1, s2 = rows["stage1"], rows["stage2"]
    assert s1["inside"] and s1["zone"] == "A" and s1["outside_km"] == 0.0 and s1["verdict"] == "inside zone A"
    assert s1["nodes"]["kr"]["notice_named_zone"] and s1["named_by"] == ["kr"]
    assert s1["nodes"]["jp"] == {"prediction": None, "notices": 0, "notice": None, "notice_named_zone": False}
    assert not s2["inside"] and s2["zone"] == "C" and 150 < s2["outside_km"] < 250
    assert s2["verdict"] == f"{s2['outside_km']:.0f} km outside zone C"
    pred = s2["nodes"]["jp"]["prediction"]
    assert 10.0 < pred["error_km"] < 12.5 and pred["before_fall_s"] == 60.0 and pred["track"] == "JP-4"
    assert s2["nodes"]["jp"]["notice_named_zone"] and s2["named_by"] == ["jp"]
    summary = falls_summary(NOTICE, list(rows.values()))
    assert (summary["inside"], summary["outside"], summary["zones"]) == (1, 1, ["A", "C"])
    page = _falls_table(summary, T0)
    assert "km outside zone C" in page and "11." in page and "sea notice" in page and "class='outside'" in page


def test_no_zones_no_section():
    assert _falls_table(None, T0) == ""


@pytest.fixture(scope="module")
def slv_runs(tmp_path_factory) -> dict[str, dict]:
    out = {}
    for name in ("2023-08-24-slv-third-stage-failure", "2023-11-21-slv-orbit"):
        folder = tmp_path_factory.mktemp(name)
        run_exercise(load_plan(bundled_dir() / f"{name}.yaml"), folder,
                     ExerciseOptions(seed=1, step_s=2.0, baseline=False, progress=False))
        out[name] = {"summary": json.loads((folder / "summary.json").read_text()),
                     "metrics": json.loads((folder / "metrics.json").read_text()),
                     "report": (folder / "report.html").read_text()}
    return out


@pytest.mark.slow
def test_august_2023_the_third_stages_pieces_fell_outside_the_declared_zones(slv_runs):
    run = slv_runs["2023-08-24-slv-third-stage-failure"]
    falls = run["summary"]["falls"]
    assert falls == run["metrics"]["falls"] and falls["zones"] == ["A", "B", "C"]
    rows = {r["piece"]: r for r in falls["pieces"]}
    third = [r for p, r in rows.items() if p == "payload" or p.startswith("debris")]
    assert len(third) == 7 and all(not r["inside"] and r["outside_km"] > 50 for r in third)  # the reports
    assert rows["stage1"]["inside"] and rows["stage1"]["zone"] == "A" and rows["stage1"]["declared_for_piece"]
    # The nodes predicted the first stage's fall and told it at sea, naming its zone.
    preds = [v["prediction"] for v in rows["stage1"]["nodes"].values() if v["prediction"]]
    assert preds and min(p["error_km"] for p in preds) < 30.0
    assert rows["stage1"]["named_by"], rows["stage1"]["nodes"]
    assert "Falling pieces against the declared zones" in run["report"] and "km outside zone" in run["report"]
    assert f"{falls['outside']} outside" in run["report"] and falls["outside"] >= 7


@pytest.mark.slow
def test_november_2023_every_piece_fell_inside_its_zone(slv_runs):
    run = slv_runs["2023-11-21-slv-orbit"]
    rows = {r["piece"]: r for r in run["summary"]["falls"]["pieces"]}
    assert set(rows) == {"stage1", "fairing", "stage2"}  # the payload and the third stage went to orbit
    assert all(r["inside"] and r["declared_for_piece"] and r["outside_km"] == 0.0 for r in rows.values())
    assert run["summary"]["falls"]["outside"] == 0
    assert any(v["prediction"] for r in rows.values() for v in r["nodes"].values())
    assert "3 of 3 pieces fell inside" in run["report"]
