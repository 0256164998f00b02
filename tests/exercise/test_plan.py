"""The exercise sections of a scenario: parsed with errors that name file, line and field, and injects that
really remove what they say (a radar down sees nothing in its window; a lost object is seen no more)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triwarn.errors import InputError
from triwarn.exercise.plan import apply_injects, load_plan
from triwarn.sensors.simulate import simulate

BASE = (Path(__file__).parents[1] / "node" / "short_mrbm.yaml").read_text()


def _write(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "sc.yaml"
    p.write_text(BASE + extra)
    return p


def test_network_and_injects_are_read_relative_to_the_first_launch(tmp_path):
    plan = load_plan(_write(tmp_path, """
exercise: DRILL-7
network:
  latency_s: 0.4
  outages:
    - {nation: us, start_s: 100, end_s: 160}
  clock_offsets_s: {kr: -3}
injects:
  - {sensor_down: kr-r1, start_s: 60, end_s: 120}
  - {track_lost: L1/warhead, at_s: 300}
"""))
    t0 = plan.t0_unix_s
    assert plan.name == "DRILL-7"
    assert plan.links.latency_s == 0.4
    assert plan.links.clock_offsets_s == {"kr": -3.0}
    (o,) = plan.links.outages
    assert (o.nation, o.start_unix_s - t0, o.end_unix_s - t0) == ("us", 100.0, 160.0)
    assert not plan.links.up("jp", t0 + 130) and plan.links.up("jp", t0 + 160)  # the hub down cuts everyone
    (d,) = plan.sensor_downs
    assert (d.sensor, d.start_unix_s - t0, d.end_unix_s - t0) == ("kr-r1", 60.0, 120.0)
    assert plan.tracks_lost[0].target == "L1/warhead"
    kinds = [f["kind"] for f in plan.fault_events()]
    assert kinds == ["hub_down", "clock_offset", "sensor_down", "track_lost"]


@pytest.mark.parametrize(("extra", "field", "words"), [
    ("injects:\n  - {sensor_down: kr-zz, start_s: 1, end_s: 2}\n", "injects[0].sensor_down", "no sensor 'kr-zz'"),
    ("injects:\n  - {track_lost: L9, at_s: 5}\n", "injects[0].track_lost", "names no launch"),
    ("injects:\n  - {sensor_down: kr-r1, start_s: 9, end_s: 2}\n", "injects[0].end_s", "before it starts"),
    ("injects:\n  - {radar_down: kr-r1}\n", "injects[0]", "needs sensor_down or track_lost"),
    ("network:\n  outages:\n    - {nation: cn, start_s: 1, end_s: 2}\n", "network.outages[0].nation", "unknown nation"),
    ("network:\n  latency_s: fast\n", "network.latency_s", "expected a number"),
    ("network:\n  clock_offsets_s: {xx: 1}\n", "network.clock_offsets_s.xx", "unknown nation"),
])
def test_bad_plans_name_file_field_and_why(tmp_path, extra, field, words):
    path = _write(tmp_path, extra)
    with pytest.raises(InputError) as exc:
        load_plan(path)
    assert exc.value.field == field
    assert words in str(exc.value)
    assert str(path) in str(exc.value)


def test_inject_line_numbers_point_at_the_inject(tmp_path):
    path = _write(tmp_path, "injects:\n  - {track_lost: L1, at_s: 5}\n  - {sensor_down: nope, start_s: 1}\n")
    with pytest.raises(InputError) as exc:
        load_plan(path)
    assert exc.value.line == BASE.count("\n") + 3


def test_injects_remove_exactly_their_detections(tmp_path):
    plan = load_plan(_write(tmp_path, """
injects:
  - {sensor_down: kr-r1, start_s: 60, end_s: 120}
  - {track_lost: L1/warhead, at_s: 300}
"""))
    sim = simulate(plan.scenario, seed=3)
    log, effects = apply_injects(sim, plan)
    t0 = plan.t0_unix_s
    kr = sim.measurements.sensor_ids.index("kr-r1")
    before = sim.measurements.radar
    in_window = (before.sensor_idx == kr) & (before.t_unix_s >= t0 + 60) & (before.t_unix_s < t0 + 120)
    assert in_window.sum() > 10, "the radar must see the missile in the window for the test to mean anything"
    after = log.radar
    assert not np.any((after.sensor_idx == kr) & (after.t_unix_s >= t0 + 60) & (after.t_unix_s < t0 + 120))
    assert np.any((after.sensor_idx == kr) & (after.t_unix_s >= t0 + 120)), "the radar comes back"
    warhead = sim.paths.object_ids.index("L1/warhead")
    late = (sim.radar_object_idx == warhead) & (before.t_unix_s >= t0 + 300)
    assert late.sum() > 0
    kept_rows = len(before) - int(in_window.sum()) - int((late & ~in_window).sum())
    assert len(after) == kept_rows
    assert effects[0]["dropped"] == int(in_window.sum())


def test_cli_reports_a_bad_plan_with_exit_code_2(tmp_path):
    from typer.testing import CliRunner

    from triwarn.cli import app

    path = _write(tmp_path, "injects:\n  - {sensor_down: jp-zz, start_s: 1}\n")
    result = CliRunner().invoke(app, ["exercise", "run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "injects[0].sensor_down" in result.output and "jp-zz" in result.output
    both = CliRunner().invoke(app, ["exercise", "run", str(path), "--out", str(tmp_path / "o"), "--fast",
                                    "--speed", "3"])
    assert both.exit_code == 2 and "not both" in both.output
