"""Simulation: truth sampling, determinism for a seed, IR on boost only, the `triwarn simulate` command."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.geo.frames import enu_rotation, geodetic_to_ecef
from triwarn.physics.dynamics import propagate
from triwarn.physics.launch import ObjectTrajectory
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.sensors.paths import ObjectPaths
from triwarn.sensors.scenario import load_scenario
from triwarn.sensors.simulate import sample_truth, simulate
from triwarn.sensors.truth_reader import read_truth

T0 = 1_664_835_720.0
SCENARIOS = resources.files("triwarn") / "scenarios"


def coasting_object(name: str, lat_deg: float, lon_deg: float, az_deg: float, boost_s: float,
                    dt_s: float = 1.0, n: int = 400) -> ObjectTrajectory:
    """A free-flying object (J2 + rotation, RK4) launched at 3 km/s, 45 deg; the first boost_s are 'boost'."""
    lat, lon, az = math.radians(lat_deg), math.radians(lon_deg), math.radians(az_deg)
    pos = geodetic_to_ecef(lat, lon, 20_000.0)
    v_enu = 3000.0 * np.array([math.cos(0.8) * math.sin(az), math.cos(0.8) * math.cos(az), math.sin(0.8)])
    vel = enu_rotation(lat, lon).T @ v_enu
    t = np.arange(n) * dt_s
    p, v = propagate(np.broadcast_to(pos, (n, 3)), np.broadcast_to(vel, (n, 3)), t, max_step_s=2.0)
    phase = np.where(t < boost_s, "boost", "ballistic")
    return ObjectTrajectory(name, "warhead", t, p, v, phase)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIOS / "2022-10-04-irbm-aomori.yaml")


@pytest.fixture(scope="module")
def paths():
    objs = [coasting_object("warhead", 40.6, 126.4, 84.0, 80.0),
            coasting_object("stage1", 40.6, 126.4, 90, 30)]
    return ObjectPaths.from_trajectories([("L1", T0, objs[0]), ("L1", T0 + 7.5, objs[1])])


def test_paths_interpolate_between_samples(paths):
    fine = coasting_object("warhead", 40.6, 126.4, 84.0, 80.0, dt_s=0.25, n=1597)
    s = paths.sample(T0 + np.array([0.0, 10.25, 100.5, 250.75, 398.0]))
    rows = s.object_idx == 0
    expect = np.searchsorted(fine.t_s, s.t_unix_s[rows] - T0)
    np.testing.assert_allclose(s.pos_ecef_m[rows], fine.pos_ecef_m[expect], atol=0.05)
    np.testing.assert_allclose(s.vel_ecef_mps[rows], fine.vel_ecef_mps[expect], atol=0.05)
    assert s.boost[rows].tolist() == [True, True, False, False, False]
    assert s.t_unix_s[s.object_idx == 1].min() >= T0 + 7.5  # not before the object exists


def test_truth_on_whole_seconds(paths):
    truth = sample_truth(paths, 1.0)
    assert truth.object_ids == ["L1/warhead", "L1/stage1"]
    assert np.all(truth.t_unix_s == np.round(truth.t_unix_s))
    assert (truth.object_idx == 0).sum() == 400 and (truth.object_idx == 1).sum() == 399
    assert truth.kind == {"L1/warhead": "warhead", "L1/stage1": "warhead"}
    assert set(truth.phase.tolist()) == {"boost", "ballistic"}


def test_deterministic_for_a_seed(scenario, paths):
    a = simulate(scenario, seed=7, paths=paths).measurements
    b = simulate(scenario, seed=7, paths=paths).measurements
    c = simulate(scenario, seed=8, paths=paths).measurements
    for name in ("t_unix_s", "sensor_idx", "range_m", "az_rad", "el_rad"):
        np.testing.assert_array_equal(getattr(a.radar, name), getattr(b.radar, name))
    np.testing.assert_array_equal(a.ir.los_ecef, b.ir.los_ecef)
    assert len(a.radar) != len(c.radar) or not np.array_equal(a.radar.range_m, c.radar.range_m)


def test_every_sensor_sees_and_ir_only_boost(scenario, paths):
    res = simulate(scenario, seed=1, paths=paths)
    log = res.measurements
    assert np.all(np.diff(log.radar.t_unix_s) >= 0) and np.all(np.diff(log.ir.t_unix_s) >= 0)
    assert len(log.ir) > 0 and len(log.radar) > 0
    last_boost = {0: T0 + 79.0, 1: T0 + 7.5 + 29.0}  # the last sample labelled boost
    for obj, t in zip(res.ir_object_idx.tolist(), log.ir.t_unix_s.tolist(), strict=True):
        assert t < last_boost[obj] + 1.0
    targets = res.radar_object_idx >= 0
    assert set(res.radar_object_idx[targets].tolist()) == {0, 1}
    assert (~targets).sum() > 0  # clutter is in the file too


def test_sensor_streams_are_independent(scenario, paths):
    full = simulate(scenario, seed=3, paths=paths).measurements
    only = dict(list(scenario.sensors.items())[:1])
    sid = next(iter(only))
    sub = type(scenario)(scenario.name, scenario.launches, only)
    part = simulate(sub, seed=3, paths=paths).measurements
    mine = full.radar.sensor_idx == full.sensor_ids.index(sid)
    np.testing.assert_array_equal(part.radar.range_m, full.radar.range_m[mine])


def test_simulate_command_writes_readable_files_deterministically(tmp_path):
    runner = CliRunner()
    doc = yaml.safe_load((SCENARIOS / "salvo-srbm-example.yaml").read_text())
    doc["launches"][0]["salvo"]["count"] = 2  # two solves per run keep the test short
    scen = tmp_path / "salvo.yaml"
    scen.write_text(yaml.safe_dump(doc))
    out1, out2, out3 = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((out1, 5), (out2, 5), (out3, 6)):
        result = runner.invoke(app, ["simulate", str(scen), "--out", str(out), "--seed", str(seed)])
        assert result.exit_code == 0, result.output
    for name in ("sensors.yaml", "measurements.jsonl", "truth.jsonl"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes()
    assert (out1 / "measurements.jsonl").read_bytes() != (out3 / "measurements.jsonl").read_bytes()
    sensors = load_sensors(out1 / "sensors.yaml")
    log = read_measurements(out1 / "measurements.jsonl", sensors, strict=True)
    truth = read_truth(out1 / "truth.jsonl")
    assert len(log.radar) > 100 and len(log.ir) > 0
    assert sorted({o.split("/")[0] for o in truth.object_ids}) == ["S1-01", "S1-02"]
    assert "truth" not in (out1 / "measurements.jsonl").read_text()


def test_simulate_command_bad_input_exit_2(tmp_path):
    doc = yaml.safe_load((SCENARIOS / "salvo-srbm-example.yaml").read_text())
    doc["launches"][0]["apogee_km"] = -100
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "launches[0].apogee_km" in result.output and str(bad) in result.output
    assert not (tmp_path / "o").exists()


def test_simulate_command_unreachable_launch_names_the_entry(tmp_path):
    doc = yaml.safe_load((SCENARIOS / "salvo-srbm-example.yaml").read_text())
    doc["launches"][0] |= {"apogee_km": 30, "range_km": 9000, "missile_class": None}
    del doc["launches"][0]["salvo"]
    bad = tmp_path / "unreachable.yaml"
    bad.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"{bad}:" in result.output and "launches[0]" in result.output and "S1" in result.output
