"""Progress and run end: one progress line for the long commands (triwarn.progress), shown on a terminal
only; the demo's run ends once the flight is over (engine.FlightOver, run_lockstep's until)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from rich.console import Console

from triwarn import progress
from triwarn.exercise.engine import FlightOver
from triwarn.exercise.replay import make_nodes
from triwarn.geo.areas import AreaIndex
from triwarn.node.lockstep import NodeFeed, run_lockstep
from triwarn.records.warnings import ACTIVE_STATES
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements

SHORT_MRBM = Path(__file__).parents[1] / "node" / "short_mrbm.yaml"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    assert progress.wanted(stream=_Tty())
    assert not progress.wanted(stream=io.StringIO())  # a pipe, a log file, pytest's capture
    assert not progress.wanted(quiet=True, stream=_Tty())
    monkeypatch.setenv(progress.ENV, "0")
    assert not progress.wanted(stream=_Tty())
    monkeypatch.setenv(progress.ENV, "1")
    assert progress.wanted(stream=io.StringIO())  # asked for
    assert not progress.wanted(quiet=True, stream=io.StringIO())  # quiet wins


def test_progress_off_under_capture_and_a_no_op(capsys, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    bar, tick = progress.clock_progress("replay", 10, 100.0)
    assert not bar.enabled
    with bar:
        for k in range(10):
            tick(k, 100.0 + k)
    assert capsys.readouterr() == ("", "")


def test_progress_line_renders_label_count_and_status():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    bar = progress.ProgressLine("replay", total=4, enabled=True, console=console)
    with bar:
        bar.update(3, "T+30 s, 2 alerts")
        bar.advance(1)
    text = out.getvalue()
    assert "replay" in text and "4/4" in text and "T+30 s, 2 alerts" in text


def _step(t: float, tracks: int = 0, warnings=()):
    return SimpleNamespace(t_unix_s=t, system_tracks=[None] * tracks, warnings=list(warnings))


def _warning(incident: str, state: str, msg_type: str = "Update"):
    return SimpleNamespace(incident=incident, msg_type=msg_type, areas=[SimpleNamespace(state=state)])


def test_flight_over_waits_for_the_flight_then_for_quiet():
    over = FlightOver(30.0)

    def step(t, kr_tracks=0, jp_warnings=()):  # both nodes step at t, then the run asks
        over.on_step("kr", _step(t, tracks=kr_tracks))
        over.on_step("jp", _step(t, warnings=jp_warnings))
        return over.done(t)

    assert not any(step(t) for t in range(0, 100, 10))  # before the launch: nothing seen yet, never over
    assert not step(100, kr_tracks=1, jp_warnings=[_warning("I1", "shelter")])
    assert not step(150, jp_warnings=[_warning("I1", "passed")])  # the track gone, the warning still on
    assert "passed" in ACTIVE_STATES
    assert not any(step(t) for t in range(160, 300, 10))  # the warning stays active (no new message)
    assert not step(300, jp_warnings=[_warning("I1", "clear")])  # the all-clear
    assert not step(320)
    assert step(330) and "the flight is over" in over.reason
    assert FlightOver(None).done(10_000) is False  # no quiet time given: runs to the plan's end


def test_a_false_track_before_the_launch_does_not_end_the_run():
    over = FlightOver(30.0, not_before_unix_s=500.0)
    over.on_step("kr", _step(100, tracks=1))  # clutter confirmed before the launch, then dropped
    over.on_step("kr", _step(110))
    assert not over.done(200) and not over.done(520)
    assert over.done(530)


@pytest.mark.slow  # a whole (short) replay on the lockstep
def test_a_run_ends_once_the_flight_is_over(tmp_path):
    spec = yaml.safe_load(SHORT_MRBM.read_text())
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    run_simulate(tmp_path / "s.yaml", tmp_path / "sim", seed=3)
    sensors = load_sensors(tmp_path / "sim" / "sensors.yaml")
    log = read_measurements(tmp_path / "sim" / "measurements.jsonl", sensors)
    nations = ["kr", "jp"]
    nodes = make_nodes(sensors, nations, exercise="TEST", areas=AreaIndex.load(), run_tag="T")
    feeds = {n: NodeFeed.for_nation(log, sensors, n) for n in nations}
    t_last = float(max(log.radar.t_unix_s.max(), log.ir.t_unix_s.max() if len(log.ir) else 0.0))
    times = np.arange(np.floor(float(log.radar.t_unix_s.min())), t_last + 1500.0, 2.0)
    over = FlightOver(40.0)
    ticks: list[float] = []
    asyncio.run(run_lockstep(nodes, feeds, times, on_step=over.on_step, on_tick=lambda k, t: ticks.append(t),
                             until=over.done))
    assert over.reason is not None and over.busy_until is not None
    assert ticks[-1] == pytest.approx(over.busy_until + 40.0, abs=2.0)  # 40 s after the last track or warning
    assert ticks[-1] < times[-1] - 600.0  # well before the fixed end
