"""Scenario files: launches by published figures, named sites, salvos, sensors, and every error."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import pytest
import yaml

from triwarn.errors import InputError
from triwarn.sensors.definitions import IrSensor, RadarSensor
from triwarn.sensors.scenario import SITES, load_scenario

RADAR = dict(id="kr-1", nation="kr", kind="radar", lat_deg=37.0, lon_deg=127.5, alt_m=100.0,
             sigma_range_m=20.0, sigma_az_deg=0.05, sigma_el_deg=0.05, revisit_s=1.0, max_range_m=1.0e6,
             min_el_deg=1.0, p_detect=0.9)
LAUNCH = dict(id="L1", time_utc="2022-10-04T07:22:00+09:00", site="mupyong-ni", azimuth_deg=84.0,
              apogee_km=970, range_km=4600)


def write(tmp_path, launches, sensors=None, **top):
    doc = {"name": "t", "launches": launches, "sensors": [RADAR] if sensors is None else sensors} | top
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_bundled_scenarios_load():
    folder = resources.files("triwarn") / "scenarios"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert "2022-10-04-irbm-aomori.yaml" in names
    for name in names:
        sc = load_scenario(folder / name)
        assert sc.launches and sc.sensors
    aomori = load_scenario(folder / "2022-10-04-irbm-aomori.yaml")
    assert aomori.launches[0].t_unix_s == datetime(2022, 10, 3, 22, 22, tzinfo=UTC).timestamp()
    assert {s.nation for s in aomori.sensors.values()} == {"us", "jp", "kr"}
    assert any(isinstance(s, IrSensor) and s.platform == "geo" for s in aomori.sensors.values())
    assert any(isinstance(s, RadarSensor) and s.nation == "us" for s in aomori.sensors.values())
    spec = aomori.launches[0].spec
    assert (spec.launch_lat_deg, spec.launch_lon_deg) == SITES["mupyong-ni"]
    assert spec.apogee_km == 970 and spec.range_km == 4600


def test_launch_fields_and_defaults(tmp_path):
    path = write(tmp_path, [LAUNCH, {"time_utc": "2022-10-04T00:00:00", "lat_deg": 39.2, "lon_deg": 125.7,
                                     "aim_lat_deg": 41.0, "aim_lon_deg": 135.0, "apogee_km": 500,
                                     "range_km": 900, "burn_s": 100, "missile_class": "MRBM"}],
                 network={"hub": "x"}, injects=[1, 2])
    sc = load_scenario(path)
    assert [ev.id for ev in sc.launches] == ["L1", "L2"]
    second = sc.launches[1]
    assert second.t_unix_s == datetime(2022, 10, 4, tzinfo=UTC).timestamp()  # no offset: UTC
    assert second.spec.aim_lat_deg == 41.0 and second.spec.azimuth_deg is None
    assert second.spec.burn_s == 100 and second.spec.missile_class == "mrbm"
    assert sc.extra == {"network": {"hub": "x"}, "injects": [1, 2]}  # later top-level keys kept
    assert sc.truth_dt_s == 1.0


def test_salvo_expands_into_members(tmp_path):
    salvo = LAUNCH | {"salvo": {"count": 3, "spacing_s": 30, "spread_az_deg": 4, "spread_range_km": 200}}
    sc = load_scenario(write(tmp_path, [salvo]))
    assert [ev.id for ev in sc.launches] == ["L1-01", "L1-02", "L1-03"]
    t0 = sc.launches[0].t_unix_s
    assert [ev.t_unix_s - t0 for ev in sc.launches] == [0, 30, 60]
    assert [ev.spec.azimuth_deg for ev in sc.launches] == pytest.approx([82.0, 84.0, 86.0])
    assert [ev.spec.range_km for ev in sc.launches] == pytest.approx([4500, 4600, 4700])
    aimed = {k: v for k, v in LAUNCH.items() if k != "azimuth_deg"} | {
        "aim_lat_deg": 40.82, "aim_lon_deg": 140.74,
        "salvo": {"count": 2, "spacing_s": 10, "spread_az_deg": 2}}
    sc2 = load_scenario(write(tmp_path, [aimed]))
    assert sc2.launches[0].spec.azimuth_deg == pytest.approx(84.16 - 1.0, abs=0.01)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"apogee_km": -5}, "launches[0].apogee_km", "apogee"),
        ({"range_km": 25_000}, "launches[0].range_km", "half the Earth"),
        ({"range_km": 0}, "launches[0].range_km", "positive"),
        ({"range_km": "far"}, "launches[0].range_km", "number"),
        ({"site": "atlantis"}, "launches[0].site", "unknown site"),
        ({"site": None, "lat_deg": 95.0, "lon_deg": 125.0}, "launches[0].lat_deg", "latitude"),
        ({"site": None}, "launches[0].site", "missing"),
        ({"azimuth_deg": None}, "launches[0].azimuth_deg", "exactly one direction"),
        ({"aim_lat_deg": 40.0, "aim_lon_deg": 140.0}, "launches[0].azimuth_deg", "exactly one direction"),
        ({"time_utc": "yesterday"}, "launches[0].time_utc", "ISO 8601"),
        ({"time_utc": None}, "launches[0].time_utc", "missing"),
        ({"missile_class": "hypersonic"}, "launches[0].missile_class", "unknown missile class"),
        ({"burn_s": -3}, "launches[0].burn_s", "burn"),
        ({"id": "a/b"}, "launches[0].id", "'/'"),
        ({"apogee_km": None}, "launches[0].apogee_km", "missing"),
        ({"salvo": {"count": 0, "spacing_s": 10}}, "launches[0].salvo.count", "salvo"),
        ({"salvo": {"count": 2.5, "spacing_s": 10}}, "launches[0].salvo.count", "whole"),
        ({"salvo": {"count": 2}}, "launches[0].salvo.spacing_s", "missing"),
        ({"salvo": 3}, "launches[0].salvo", "mapping"),
    ],
)
def test_launch_errors_name_file_line_field(tmp_path, change, field, words):
    entry = {k: v for k, v in (LAUNCH | change).items() if v is not None}
    path = write(tmp_path, [entry])
    with pytest.raises(InputError, match=words) as err:
        load_scenario(path)
    assert err.value.field == field and err.value.source == str(path)
    assert err.value.line is not None and str(path) in str(err.value)


def test_scenario_level_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "none.yaml")
    with pytest.raises(InputError, match="launches"):
        load_scenario(write(tmp_path, []))
    with pytest.raises(InputError, match="duplicate launch id"):
        load_scenario(write(tmp_path, [LAUNCH, LAUNCH]))
    with pytest.raises(InputError, match="unknown sensor kind") as err:
        load_scenario(write(tmp_path, [LAUNCH], sensors=[RADAR | {"kind": "lidar"}]))
    assert err.value.field == "sensors[0].kind"
    with pytest.raises(InputError, match="latitude"):
        load_scenario(write(tmp_path, [LAUNCH], sensors=[RADAR | {"lat_deg": -91}]))
    with pytest.raises(InputError, match="after start_utc"):
        load_scenario(write(tmp_path, [LAUNCH], start_utc="2022-10-04T00:00:00Z",
                            end_utc="2022-10-03T00:00:00Z"))
    with pytest.raises(InputError, match="truth spacing"):
        load_scenario(write(tmp_path, [LAUNCH], truth_dt_s=0))
