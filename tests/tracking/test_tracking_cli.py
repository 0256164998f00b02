"""`triwarn track` end to end on a small simulated salvo, with bad lines mixed in."""

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.truth_reader import read_truth
from triwarn_eval.gospa import gospa

SCENARIO = Path(__file__).parents[2] / "src/triwarn/scenarios/salvo-srbm-example.yaml"
FIELDS = {"t", "track", "ecef_m", "vel_ecef_mps", "cov_ecef_m2", "lat_deg", "lon_deg", "alt_m", "mode"}


def _simulate(tmp_path: Path) -> Path:
    out = tmp_path / "sim"
    run_simulate(SCENARIO, out, seed=4)
    return out


def test_track_command_writes_confirmed_tracks_and_counts_bad_lines(tmp_path):
    sim = _simulate(tmp_path)
    meas = sim / "measurements.jsonl"
    lines = meas.read_text().splitlines()
    first = json.loads(lines[100])
    bad = [
        "{not json",
        json.dumps({**first, "sensor": "no-such-radar"}),
        json.dumps({**first, "range_m": -5.0}),
        json.dumps({k: v for k, v in first.items() if k != "t"}),
    ]
    # NaN is not JSON, but recorders write it: the reader must count it, not choke on it.
    nan_line = json.dumps(first).replace(f'"range_m": {first["range_m"]}', '"range_m": NaN')
    meas.write_text("\n".join(lines[:200] + bad + [nan_line] + lines[200:]) + "\n")
    out = tmp_path / "tracks.jsonl"
    result = CliRunner().invoke(app, ["track", "--sensors", str(sim / "sensors.yaml"), "--measurements",
                                      str(meas), "--out", str(out), "--report-interval", "2"])
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert f"{len(lines)} lines accepted, 5 skipped" in err
    for reason in ("malformed JSON: 1", "unknown sensor: 1", "impossible value: 1", "missing field: 1",
                   "NaN or infinite value: 1"):
        assert reason in err
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert recs
    t_all = [json.loads(x)["t"] for x in lines]
    for r in recs:
        assert FIELDS <= set(r)
        assert r["t"] % 2.0 == 0.0 and min(t_all) <= r["t"] <= max(t_all)
        assert np.array(r["cov_ecef_m2"]).shape == (6, 6)
        assert r["mode"] in ("boost", "ballistic")
    # The salvo's GEO infrared sensor sees the plumes: its lines of sight update the boosting tracks.
    assert any("us-ir-geo-1" in r["sensors_seen"] for r in recs)
    assert any(r["mode"] == "boost" for r in recs)
    # Tracks are where the objects are: GOSPA per report tick, localisation within 1 km on average.
    truth = read_truth(sim / "truth.jsonl")
    by_t: dict[float, list] = {}
    for r in recs:
        by_t.setdefault(r["t"], []).append(r["ecef_m"])
    rmse, false = [], []
    for t, pos in by_t.items():
        rows = np.abs(truth.t_unix_s - t) < 1e-3
        g = gospa(truth.pos_ecef_m[rows], np.array(pos), c_m=10_000.0)
        false.append(g.false)
        if g.assigned:
            rmse.append(g.assigned_rmse_m)
    # Stage separations can briefly leave an extra track between the two pieces.
    assert np.mean(false) < 0.3
    assert np.mean(rmse) < 500.0


def test_track_command_unusable_input_exits_2(tmp_path):
    sim = _simulate(tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    runner = CliRunner()
    args = ["track", "--sensors", str(sim / "sensors.yaml"), "--out", str(tmp_path / "t.jsonl")]
    for meas in (empty, tmp_path / "missing.jsonl"):
        result = runner.invoke(app, [*args, "--measurements", str(meas)])
        assert result.exit_code == 2
        assert "error" in result.stderr and str(meas) in result.stderr
    result = runner.invoke(app, [*args, "--measurements", str(sim / "measurements.jsonl"),
                                 "--report-interval", "0"])
    assert result.exit_code == 2 and "report interval" in result.stderr
