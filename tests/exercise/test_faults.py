"""Faults really take effect: a hub outage holds messages and delivers every one after it; a radar down
sends nothing in its window; a clock beyond the receivers' tolerance gets its messages rejected (and the
report says why); with a clock within it nothing is lost. Shortened runs (see test_scenarios.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from triwarn.exercise.engine import ExerciseOptions, run_exercise
from triwarn.exercise.plan import load_plan
from triwarn.node.lockstep import RunLog
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements

from .conftest import SCENARIOS

pytestmark = pytest.mark.slow  # whole exercises over NATS

HUB_DOWN = next(p for p in SCENARIOS if p.stem == "hub-down-midflight")
SHORT_MRBM = Path(__file__).parents[1] / "node" / "short_mrbm.yaml"


@pytest.fixture(scope="module")
def hub_down(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub")
    plan = load_plan(HUB_DOWN)
    log = RunLog()
    metrics = run_exercise(plan, out, ExerciseOptions(seed=1, step_s=2.0, baseline=False, end_after_s=300.0,
                                                      progress=False, run_log=log))
    return plan, out, metrics, log


def test_hub_down_holds_messages_and_loses_none(hub_down):
    plan, _out, metrics, log = hub_down
    (outage,) = plan.links.outages
    assert outage.nation == plan.links.hub
    during = [d for d in log.deliveries if outage.start_unix_s <= d.published_unix_s < outage.end_unix_s]
    assert len(during) > 50, "the nodes published during the outage"
    assert all(d.delivered_unix_s >= outage.end_unix_s for d in during), "nothing crosses a downed hub"
    assert not [d for d in log.deliveries if outage.start_unix_s <= d.delivered_unix_s < outage.end_unix_s]
    assert max(d.delivered_unix_s - d.published_unix_s for d in during) >= outage.end_unix_s - outage.start_unix_s - 3
    tr = metrics["transport"]
    assert (tr["missing"], tr["held_at_end"], tr["expired_in_hold"]) == (0, 0, 0)
    # Every message published to a node before the last step was decided on and, unless rejected, delivered.
    assert metrics["rejections"] == {"kr": {}, "us": {}, "jp": {}}  # kr's clock is 2 s fast: within 5 s
    assert metrics["latency"]["sim_s"]["max"] >= 100.0


def test_radar_down_sends_nothing_in_its_window(hub_down):
    plan, out, metrics, _log = hub_down
    (down,) = plan.sensor_downs
    log = read_measurements(out / "measurements.jsonl", load_sensors(out / "sensors.yaml"))
    k = log.sensor_ids.index(down.sensor)
    t = log.radar.t_unix_s[log.radar.sensor_idx == k]
    assert not np.any((t >= down.start_unix_s) & (t < down.end_unix_s))
    assert np.any(t < down.start_unix_s) and np.any(t >= down.end_unix_s), "the radar works around the window"
    (effect,) = [e for e in metrics["inject_effects"] if e["kind"] == "sensor_down"]
    assert effect["dropped"] > 20


def test_report_lists_the_faults(hub_down):
    _plan, out, _metrics, _log = hub_down
    page = (out / "report.html").read_text()
    for words in ("hub_down", "sensor_down", "clock_offset", "kr-gp-central", "EXERCISE"):
        assert words in page, words


def test_clock_beyond_tolerance_is_rejected_and_said(tmp_path):
    scenario = tmp_path / "skew.yaml"
    scenario.write_text(SHORT_MRBM.read_text() + "network:\n  future_skew_s: 5\n  clock_offsets_s: {kr: 8}\n")
    metrics = run_exercise(load_plan(scenario), tmp_path / "out",
                           ExerciseOptions(seed=3, step_s=2.0, baseline=False, end_after_s=200.0, progress=False))
    assert metrics["rejections"]["jp"].get("from_future", 0) > 20
    assert metrics["delivered_by_receiver"].get("jp", {}).get("kr", 0) == 0
    jp_rows = [json.loads(x) for x in (tmp_path / "out" / "tracks.jsonl").read_text().splitlines()]
    assert not any("kr" in r["nations"] for r in jp_rows if r["node"] == "jp"), "kr's data must not get in"
    page = (tmp_path / "out" / "report.html").read_text()
    assert "from_future" in page and "tolerance 5 s" in page


def test_a_track_lost_over_the_sea_is_never_announced_as_passed(tmp_path):
    # Like 2022-11-03: the object vanishes from every sensor at T+240 s; the (simulated) object flies on
    # over Japan around T+900 s, but no track confirms it, so no area may be declared "passed".
    plan = load_plan(next(p for p in SCENARIOS if p.stem == "2022-11-03-track-lost-over-sea"))
    metrics = run_exercise(plan, tmp_path, ExerciseOptions(seed=1, step_s=5.0, baseline=False,
                                                           end_after_s=1000.0, progress=False))
    crossed = {p["area"] for p in metrics["truth_passages"] if p.get("zone") != "eez"}
    assert crossed & {"JP-04", "JP-06", "JP-15"}, "the truth must cross Japan for the test to mean anything"
    shelter = [r for r in metrics["first_alerts"] if r["first_shelter_shared_unix_s"] is not None]
    assert shelter, "the areas under the predicted path were warned before the loss"
    summary = json.loads((tmp_path / "summary.json").read_text())
    passed = [(n, a) for n, incs in summary["alerts"].items() for areas in incs.values()
              for a, rec in areas.items() if rec["passed_unix_s"] is not None]
    assert passed == []


def test_a_shared_run_with_faults_is_deterministic(tmp_path):
    scenario = tmp_path / "det.yaml"
    scenario.write_text(SHORT_MRBM.read_text() + "network:\n  latency_s: 0.7\n  outages:\n"
                        "    - {nation: jp, start_s: 100, end_s: 130}\n  clock_offsets_s: {kr: 1.5}\n")
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        run_exercise(load_plan(scenario), out, ExerciseOptions(seed=3, step_s=2.0, baseline=False,
                                                               end_after_s=170.0, progress=False))
        outs.append(out)
    for name in ("tracks.jsonl", "events.jsonl"):
        a, b = ((o / name).read_bytes() for o in outs)
        assert a == b, name
    assert b'"kr"' in (outs[0] / "tracks.jsonl").read_bytes()
