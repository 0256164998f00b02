"""The bundled Sohae satellite launches: scenarios load with outcome and declared zones, fly, and the real
pipeline (simulate -> track -> fuse -> assess) recognises the orbit and predicts the falling pieces."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.reader import read_tracks
from triwarn.errors import InputError
from triwarn.fusion.fuser import Fuser
from triwarn.geo.geodesic import inverse
from triwarn.geo.hazard_zones import score_falls
from triwarn.physics.slv import fly_slv
from triwarn.physics.stages import SlvSpec
from triwarn.records.events import ImpactPrediction
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.scenario import bundled_dir, load_scenario
from triwarn.sensors.simulate import fly_scenario
from triwarn.tracking.commands import run_track

OUTCOMES = {
    "2023-05-31-slv-second-stage-failure": ("failure", 2),
    "2023-08-24-slv-third-stage-failure": ("failure", 3),
    "2023-11-21-slv-orbit": ("orbit", None),
    "2024-05-27-slv-first-stage-explosion": ("failure", 1),
}


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_each_sohae_launch_is_bundled_with_its_outcome_and_declared_zones(name):
    sc = load_scenario(bundled_dir() / f"{name}.yaml")
    (ev,) = sc.launches
    assert isinstance(ev.spec, SlvSpec) and (ev.spec.launch_lat_deg, ev.spec.launch_lon_deg) == (39.66, 124.71)
    outcome, failed_stage = OUTCOMES[name]
    assert (ev.spec.failure.stage if ev.spec.failure else None) == failed_stage
    notice = sc.hazard_notice
    assert notice is not None and [z.role for z in notice.zones] == ["stage1", "fairing", "stage2"]
    flight = fly_slv(ev.spec)
    assert flight.extra["outcome"] == outcome
    paths = fly_scenario(sc)
    assert f"{ev.id}/payload" in paths.object_ids and paths.kind[0] == "warhead"


def test_the_november_2023_pieces_fall_inside_their_zones_and_august_2023_outside():
    def falls(name):
        sc = load_scenario(bundled_dir() / f"{name}.yaml")
        flight = fly_slv(sc.launches[0].spec)
        pieces = [(p["object_id"], p["lat_deg"], p["lon_deg"]) for p in flight.extra["pieces"] if p["fell"]]
        return {s.object_id: s for s in score_falls(sc.hazard_notice, pieces)}

    nov = falls("2023-11-21-slv-orbit")
    assert all(nov[k].inside and nov[k].declared_for_piece for k in ("stage1", "fairing", "stage2"))
    aug = falls("2023-08-24-slv-third-stage-failure")
    debris = [s for k, s in aug.items() if k.startswith("debris") or k == "payload"]
    assert debris and not any(s.inside for s in debris)  # the reports: outside the declared zones


def test_the_november_2023_launch_came_before_its_notified_window():
    sc = load_scenario(bundled_dir() / "2023-11-21-slv-orbit.yaml")
    assert sc.launches[0].t_unix_s < sc.hazard_notice.window_start_unix_s


SCENARIO = """name: bad slv
launches:
  - id: L1
    time_utc: "2023-11-21T22:42:28+09:00"
    site: sohae
{body}
sensors:
  - {{id: jp-r, nation: jp, kind: radar, lat_deg: 26.1, lon_deg: 127.7, alt_m: 200, sigma_range_m: 25,
     sigma_az_deg: 0.05, sigma_el_deg: 0.05, revisit_s: 2.0, max_range_m: 1500000, min_el_deg: 1.0,
     p_detect: 0.95, clutter_rate: 0.05, scan_phase_s: 1.4}}
"""


@pytest.mark.parametrize("body, field", [
    ("    slv: {orbit_alt_km: 500, inclination_deg: 20}", "launches[0].slv.inclination_deg"),
    ("    slv: {orbit_alt_km: 5, azimuth_deg: 180}", "launches[0].slv.orbit_alt_km"),
    ("    slv: {orbit_alt_km: 500, azimuth_deg: 180, warp: 9}", "launches[0].slv"),
    ("    slv: {orbit_alt_km: 500, azimuth_deg: 180, failure: {stage: 5, mode: explosion, at_s: 9}}",
     "launches[0].slv.failure.stage"),
    ("    slv: {orbit_alt_km: 500, azimuth_deg: 180, failure: {stage: 2, mode: melted}}",
     "launches[0].slv.failure.mode"),
    ("    slv: {orbit_alt_km: 500, azimuth_deg: 180, stage_burn_s: [100, x, 100]}",
     "launches[0].slv.stage_burn_s"),
    ("    apogee_km: 500\n    slv: {orbit_alt_km: 500, azimuth_deg: 180}", "launches[0].apogee_km"),
    ("    slv: {orbit_alt_km: 500, azimuth_deg: 180}\nhazard_zones: |\n  301500Z MAY TO 101500Z MAY 23\n"
     "  A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E.", "hazard_zones.window.end"),
])
def test_a_bad_slv_entry_or_zone_is_refused_naming_the_field(tmp_path, body, field):
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(body=body))
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.field == field and err.value.source == str(path)
    assert err.value.line is not None


def test_a_zone_error_in_a_scenario_names_the_scenario_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(body="    slv: {orbit_alt_km: 500, azimuth_deg: 180}") +
                    "hazard_zones: |\n  301500Z MAY TO 101500Z JUN 23\n  A. 36-04N 124-30E, 36-04N 124-54E.\n")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    lines = path.read_text().splitlines()
    assert "A. 36-04N" in lines[err.value.line - 1] and "open polygon" in err.value.reason


@pytest.mark.slow
def test_the_pipeline_recognises_the_orbit_and_predicts_the_first_stages_fall(tmp_path):
    """Goals of issue 14 on 2023-11-21 (seed 1): orbit recognised within 60 s of insertion with its position
    10 minutes later within 20 km, no impact predicted for it; stage 1's predicted fall within 20 km 60 s
    before it reaches the sea."""
    path = bundled_dir() / "2023-11-21-slv-orbit.yaml"
    sc = load_scenario(path)
    ev = sc.launches[0]
    flight = fly_slv(ev.spec)
    objs = {f"{ev.id}/{o.object_id}": (ev.t_unix_s + o.t_s, o.pos_ecef_m) for o in flight.objects}

    def truth(obj, t):
        ts, pos = objs[obj]
        return np.array([np.interp(t, ts, pos[:, k]) for k in range(3)])

    with contextlib.redirect_stderr(io.StringIO()):
        run_simulate(scenario=path, out=tmp_path, seed=1, quiet=True)
        run_track(tmp_path / "sensors.yaml", tmp_path / "measurements.jsonl", tmp_path / "tracks.jsonl",
                  quiet=True)
        tables = read_tracks(Path(tmp_path / "tracks.jsonl"), "own")
    fuser, assessor = Fuser(), Assessor(None, AssessConfig(seed=1))
    match, preds = {}, {}  # (track, t) -> the true object it follows then; object -> predictions for it
    with contextlib.redirect_stderr(io.StringIO()):
        for t in sorted(tables):
            system = fuser.update(t, tables[t])
            for k, tid in enumerate(system.track_id.tolist()):
                live = [o for o, (ts, _) in objs.items() if ts[0] <= t <= ts[-1]]
                near = min(live, key=lambda o: np.linalg.norm(truth(o, t) - system.pos_ecef_m[k]))
                if np.linalg.norm(truth(near, t) - system.pos_ecef_m[k]) < 30e3:
                    match[(tid, t)] = near
            for e in assessor.step(t, system):
                if isinstance(e, ImpactPrediction) and not e.powered and (e.track, t) in match:
                    preds.setdefault(match[(e.track, t)], []).append(e)
    t_ins = ev.t_unix_s + flight.burnout_t_s
    found = {tid: t for tid, t in assessor.orbits.first_unix_s.items() if match.get((tid, t)) == "L1/payload"}
    assert found, "the payload's track was never found orbital"
    tid = min(found, key=found.get)
    assert found[tid] - t_ins <= 60.0
    first = assessor.orbits.first[tid]
    t10 = first.elements.epoch_unix_s + 600.0
    assert np.linalg.norm(first.position_ecef_m(t10)[0] - truth("L1/payload", t10)) < 20e3
    assert not [p for p in preds.get("L1/payload", []) if p.t > t_ins]  # no impact for what orbits
    fall = next(p for p in flight.extra["pieces"] if p["object_id"] == "stage1")
    t_fall = ev.t_unix_s + fall["t_s"]
    cands = [p for p in preds.get("L1/stage1", []) if p.t <= t_fall - 60]
    assert cands, "stage 1's fall was not predicted"
    last = max(cands, key=lambda p: p.t)
    d, _ = inverse(last.lat_deg, last.lon_deg, fall["lat_deg"], fall["lon_deg"])
    assert float(d) < 20e3


@pytest.mark.slow
def test_november_2023_korea_shelters_no_far_province_and_every_node_sees_one_launch(tmp_path):
    """Issue 14 on 2023-11-21 (seed 1), each nation's own tracker and a node's view of them (kr: kr+jp,
    jp: all three): no trusted cut-off path risk for an area whose land is over 100 km from the flight (was
    KR-44, 136 km, from Korea's steeply climbing track at T+158 s) while the areas under it have one, and one
    launch (the falling fairing, read as powered, was launch L2 at T+615 s)."""
    from shapely.geometry import LineString

    from triwarn.geo.areas import AreaIndex
    from triwarn.geo.frames import ecef_to_geodetic
    from triwarn.records.events import TRUSTED_QUALITY, AreaRisk, Flag, LaunchEvent
    from triwarn.sensors.commands import run_sensors_split

    path = bundled_dir() / "2023-11-21-slv-orbit.yaml"
    sc = load_scenario(path)
    paths = []
    for o in fly_slv(sc.launches[0].spec).objects:
        lat, lon, alt = ecef_to_geodetic(o.pos_ecef_m)
        up = alt > 1e3
        if up.sum() >= 2:
            paths.append(LineString(list(zip(np.degrees(lon[up]), np.degrees(lat[up]), strict=True))))
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        run_simulate(scenario=path, out=tmp_path, seed=1, quiet=True)
        run_sensors_split(sensors=tmp_path / "sensors.yaml", measurements=tmp_path / "measurements.jsonl",
                          out=tmp_path / "split")
        tables = {}
        for n in ("kr", "jp", "us"):
            run_track(tmp_path / "split" / f"sensors-{n}.yaml", tmp_path / "split" / f"measurements-{n}.jsonl",
                      tmp_path / f"tracks-{n}.jsonl", quiet=True)
            for t, tab in read_tracks(tmp_path / f"tracks-{n}.jsonl", n).items():
                tables.setdefault(t, []).append(tab)
    areas = AreaIndex.load()
    for view, seen in (("kr", ("kr", "jp")), ("jp", ("jp", "kr", "us"))):
        fuser, assessor = Fuser(), Assessor(areas if view == "kr" else None, AssessConfig(seed=1, boost_risk=False))
        launches, cut = set(), set()
        with contextlib.redirect_stderr(io.StringIO()):
            for t in sorted(tables):
                tabs = [tab for tab in tables[t] if tab.nation[0] in seen]
                for e in assessor.step(t, fuser.update(t, tabs)) if tabs else []:
                    if isinstance(e, LaunchEvent):
                        launches.add(e.launch_id)
                    elif (isinstance(e, AreaRisk) and Flag.CUTOFF_PATH in e.flags and e.quality >= TRUSTED_QUALITY
                          and e.probability > 0):
                        cut.add(e.area)
        assert launches == {"L1"}, view
        if view == "kr":
            far = {a for a in cut if min(areas.geometry(a, "land").distance(p) for p in paths) * 111.2 > 100.0}
            assert "KR-28" in cut and not far
            assert "KR-11" not in cut  # no Seoul alert for a rocket flying south along the Yellow Sea
