"""`triwarn trajectory` end to end through typer's CliRunner."""

from __future__ import annotations

import itertools
import json

import pytest
from typer.testing import CliRunner

from triwarn.cli import app

BASE = ["trajectory", "--launch", "39.2,125.67", "--apogee-km", "90", "--range-km", "400"]


def test_json_summary_and_jsonl_trajectory(tmp_path):
    out = tmp_path / "warhead.jsonl"
    result = CliRunner().invoke(app, [*BASE, "--aim", "39.5,130.5", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    keys = ("flight_time_s", "apogee_km", "range_km", "impact_lat_deg", "impact_lon_deg", "burnout_t_s",
            "burnout_alt_km", "burnout_speed_mps", "burnout_fpa_deg", "burnout_lat_deg", "burnout_lon_deg")
    for key in keys:
        assert isinstance(summary[key], float), key
    assert summary["apogee_km"] == pytest.approx(90.0, rel=0.01)
    assert summary["range_km"] == pytest.approx(400.0, rel=0.01)

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert set(lines[0]) == {"t", "ecef_m", "vel_ecef_mps", "lat_deg", "lon_deg", "alt_m", "phase"}
    t = [s["t"] for s in lines]
    assert t[0] == 0.0 and all(b > a for a, b in itertools.pairwise(t))
    assert t[-1] == pytest.approx(summary["flight_time_s"], abs=1e-5)
    assert lines[0]["phase"] == "boost" and lines[-1]["phase"] == "ballistic"
    assert abs(lines[-1]["alt_m"]) < 0.05
    assert lines[-1]["lat_deg"] == pytest.approx(summary["impact_lat_deg"], abs=1e-6)
    assert max(s["alt_m"] for s in lines) == pytest.approx(90e3, rel=0.01)


def test_table_output():
    result = CliRunner().invoke(app, [*BASE, "--azimuth", "90"])
    assert result.exit_code == 0, result.output
    for words in ("flight time", "burnout", "apogee", "ground range", "impact point"):
        assert words in result.stdout


@pytest.mark.parametrize(
    "args, field",
    [
        (["--launch", "95,125", "--azimuth", "90"], "--launch"),
        (["--launch", "39.2;125.6", "--azimuth", "90"], "--launch"),
        (["--azimuth", "90", "--apogee-km", "-5"], "--apogee-km"),
        (["--azimuth", "90", "--range-km", "0"], "--range-km"),
        (["--azimuth", "90", "--range-km", "25000"], "--range-km"),
        (["--azimuth", "90", "--aim", "40,130"], "--aim/--azimuth"),
        ([], "--aim/--azimuth"),
        (["--aim", "40,400"], "--aim"),
        (["--azimuth", "90", "--burn-s", "2000"], "--burn-s"),
        (["--azimuth", "90", "--apogee-km", "10", "--range-km", "3000"], "--apogee-km"),
    ],
)
def test_bad_input_exits_2_naming_the_option(args, field):
    result = CliRunner().invoke(app, [*BASE, *args])
    assert result.exit_code == 2, result.output
    assert f"field '{field}'" in result.stderr


def test_unwritable_out_file_exits_2(tmp_path):
    result = CliRunner().invoke(app, [*BASE, "--azimuth", "90", "--out", str(tmp_path / "no" / "dir.jsonl")])
    assert result.exit_code == 2
    assert "--out" in result.stderr
