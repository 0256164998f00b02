"""Issue 16, "CLI inputs": every `triwarn` command that reads files, run on the hostile corpus (corpus.py).

For each case: no traceback, never a hang (a 60 s alarm per run), and either exit 2 with a one-line message
naming the file (and line where there is one) or exit 0 with the bad lines counted and good ones kept.
In-process (CliRunner); the 50 MB line and the subprocess run are marked slow.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
from typer.testing import CliRunner

from triwarn.cli import app

from .corpus import (
    MEASUREMENT_CASES,
    SCENARIO_CASES,
    SENSORS_CASES,
    good_lines,
    sensors_yaml,
    write,
)

runner = CliRunner()
LIMIT_S = 60


@contextmanager
def _deadline(seconds: int):
    """Fail (not hang) when a run takes longer than `seconds`."""

    def boom(signum, frame):
        raise TimeoutError(f"hang: no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run(*args: str):
    with _deadline(LIMIT_S):
        result = runner.invoke(app, [str(a) for a in args])
    text = result.output + (result.stderr or "")
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}\n{text}"
    assert "Traceback" not in text, text
    return result, text


def expect(result, text, expected: str, *names: str) -> None:
    if expected == "error":
        assert result.exit_code == 2, text
        assert "triwarn: error:" in result.stderr or "Invalid value" in text, text
        for name in names:
            assert name in text, (name, text)
    else:
        assert result.exit_code == 0, text
        for name in names:
            assert name in text, (name, text)


@pytest.fixture
def files(tmp_path):
    sensors = write(tmp_path / "sensors.yaml", sensors_yaml())
    meas = write(tmp_path / "measurements.jsonl", "\n".join(good_lines()) + "\n")
    return tmp_path, sensors, meas


# ---------------------------------------------------------------------------------------------- track

@pytest.mark.parametrize("case", sorted(SENSORS_CASES))
def test_track_on_hostile_sensors(case, files):
    tmp, _, meas = files
    text, expected = SENSORS_CASES[case]
    sensors = write(tmp / f"{case}.yaml", text)
    result, out = run("track", "--sensors", sensors, "--measurements", meas, "--out", tmp / "t.jsonl", "-q")
    expect(result, out, expected, f"{case}.yaml")


@pytest.mark.parametrize("case", sorted(MEASUREMENT_CASES))
def test_track_on_hostile_measurements(case, files):
    tmp, sensors, _ = files
    build, expected, word = MEASUREMENT_CASES[case]
    meas = write(tmp / f"{case}.jsonl", build())
    result, out = run("track", "--sensors", sensors, "--measurements", meas, "--out", tmp / "t.jsonl", "-q")
    expect(result, out, expected, f"{case}.jsonl", word)


@pytest.mark.parametrize("interval", ["1e-6", "0", "-1", "nan", "inf", "1e9", "x"])
def test_track_report_interval_bounds(interval, files):
    tmp, sensors, meas = files
    result, out = run("track", "--sensors", sensors, "--measurements", meas, "--out", tmp / "t.jsonl",
                      "--report-interval", interval)
    expect(result, out, "error", "--report-interval")


def test_track_output_folder_missing(files):
    tmp, sensors, meas = files
    result, out = run("track", "--sensors", sensors, "--measurements", meas, "--out", tmp / "no" / "t.jsonl")
    expect(result, out, "error")


# ------------------------------------------------------------------------------------ simulate, exercise

@pytest.mark.parametrize("case", sorted(SCENARIO_CASES))
def test_simulate_on_hostile_scenarios(case, tmp_path):
    text, expected = SCENARIO_CASES[case]
    scenario = write(tmp_path / f"{case}.yaml", text)
    result, out = run("simulate", scenario, "--out", tmp_path / "rec", "-q")
    expect(result, out, expected, f"{case}.yaml")


@pytest.mark.parametrize("case", ["alias_bomb", "start_1900", "launch_year_9999", "salvo_million"])
def test_exercise_run_on_hostile_scenarios(case, tmp_path):
    text, expected = SCENARIO_CASES[case]
    scenario = write(tmp_path / f"{case}.yaml", text)
    result, out = run("exercise", "run", scenario, "--out", tmp_path / "ex", "--fast", "-q")
    expect(result, out, expected, f"{case}.yaml")


@pytest.mark.parametrize("option", [("--step-s", "1e-6"), ("--step-s", "0"), ("--step-s", "nan"),
                                    ("--speed", "1e-9"), ("--end-after-s", "-5"), ("--end-after-s", "inf")])
def test_exercise_run_option_bounds(option, tmp_path):
    result, out = run("exercise", "run", "salvo-srbm-example", "--out", tmp_path / "ex", *option)
    expect(result, out, "error", option[0])


@pytest.mark.parametrize("step", ["1e-6", "0", "-1", "nan", "1e9"])
def test_replay_step_bounds(step, files):
    tmp, sensors, meas = files
    result, out = run("replay", "--sensors", sensors, "--measurements", meas, "--out", tmp / "r", "--step-s", step)
    expect(result, out, "error", "--step-s")


@pytest.mark.parametrize("case", ["alias_bomb", "lat_nan", "empty"])
def test_replay_on_hostile_sensors(case, files):
    tmp, _, meas = files
    text, expected = SENSORS_CASES[case]
    sensors = write(tmp / f"{case}.yaml", text)
    result, out = run("replay", "--sensors", sensors, "--measurements", meas, "--out", tmp / "r", "-q")
    expect(result, out, expected, f"{case}.yaml")


def test_sensors_split_on_hostile_inputs(files):
    tmp, sensors, _ = files
    bomb = write(tmp / "bomb.yaml", SENSORS_CASES["alias_bomb"][0])
    result, out = run("sensors", "split", "--sensors", bomb, "--out", tmp / "split")
    expect(result, out, "error", "bomb.yaml")
    long = write(tmp / "long.jsonl", "\n".join(good_lines(3)) + "\n" + "y" * (3 << 20) + "\n")
    result, out = run("sensors", "split", "--sensors", sensors, "--measurements", long, "--out", tmp / "split")
    assert result.exit_code in (0, 2), out


# --------------------------------------------------------------------------------------------- assess

ASSESS_CASES = {
    "garbage": "not json\n" * 10,
    "nan_track": '{"t": NaN, "track": "a", "ecef_m": [1, 2, 3]}\n',
    "wrong_types": '{"t": "x", "track": 1, "ecef_m": "y", "vel_ecef_mps": 3, "cov_ecef_m2": 4}\n',
    "long_line": "z" * (3 << 20) + "\n",
    "array": "[1, 2, 3]\n",
}


def test_assess_on_an_empty_tracks_file_says_so(tmp_path):
    tracks = write(tmp_path / "empty.jsonl", "")  # `triwarn track` writes this when nothing was confirmed
    result, out = run("assess", "--tracks", tracks, "--out", tmp_path / "events.jsonl")
    expect(result, out, "skip", "no events")


@pytest.mark.parametrize("case", sorted(ASSESS_CASES))
def test_assess_on_hostile_tracks(case, tmp_path):
    tracks = write(tmp_path / f"{case}.jsonl", ASSESS_CASES[case])
    result, out = run("assess", "--tracks", tracks, "--out", tmp_path / "events.jsonl")
    expect(result, out, "error", f"{case}.jsonl")


# ----------------------------------------------------------------------------------------- trajectory

@pytest.mark.parametrize("args", [
    ["--launch", "abc", "--azimuth", "90", "--apogee-km", "100", "--range-km", "300"],
    ["--launch", "91,0", "--azimuth", "90", "--apogee-km", "100", "--range-km", "300"],
    ["--launch", "nan,nan", "--azimuth", "90", "--apogee-km", "100", "--range-km", "300"],
    ["--launch", "40,126", "--azimuth", "nan", "--apogee-km", "100", "--range-km", "300"],
    ["--launch", "40,126", "--azimuth", "90", "--apogee-km", "nan", "--range-km", "300"],
    ["--launch", "40,126", "--azimuth", "90", "--apogee-km", "-5", "--range-km", "300"],
    ["--launch", "40,126", "--azimuth", "90", "--apogee-km", "1e308", "--range-km", "300"],
    ["--launch", "40,126", "--azimuth", "90", "--apogee-km", "100", "--range-km", "0"],
    ["--launch", "40,126", "--azimuth", "90", "--apogee-km", "100", "--range-km", "inf"],
    ["--launch", "40,126", "--azimuth", "90", "--apogee-km", "100", "--range-km", "300", "--burn-s", "-1"],
    ["--launch", "40,126", "--azimuth", "90", "--apogee-km", "100", "--range-km", "300", "--burn-s", "1e9"],
    ["--launch", "40,126", "--aim", "40,126", "--apogee-km", "100", "--range-km", "300"],
])
def test_trajectory_on_hostile_figures(args, tmp_path):
    result, out = run("trajectory", *args)
    expect(result, out, "error")


# ---------------------------------------------------------------------------------------- slow: big files

@pytest.mark.slow
def test_a_50_mb_line_is_refused_at_once_in_a_subprocess(files):
    tmp, sensors, _ = files
    meas = tmp / "huge.jsonl"
    with meas.open("wb") as fh:
        fh.write(("\n".join(good_lines(3)) + "\n").encode())
        chunk = b"w" * (1 << 20)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b"\n")
    proc = subprocess.run([sys.executable, "-m", "triwarn.cli", "track", "--sensors", str(sensors),
                           "--measurements", str(meas), "--out", str(tmp / "t.jsonl"), "-q"],
                          capture_output=True, text=True, timeout=LIMIT_S, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "huge.jsonl:4" in proc.stderr
