"""The whole chain over real NATS in lockstep, on a small recorded case (tests/node/short_mrbm.yaml).

Korea's radar sees the ascent about a minute before Japan's radar sees anything, so with sharing
Japan's picture must hold the object earlier than Japan alone; the run must be clean (no message
rejected, none left undelivered) and deterministic for the same input.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from triwarn.exercise.replay import BaselineProcess, gain_rows, nations_with_sensors, replay, step_times
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.warn.cap import validate_cap

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    run_simulate(HERE / "short_mrbm.yaml", out, seed=3)
    return out


def _first_held(tracks: Path, node: str, with_nation: str | None = None) -> float | None:
    for line in tracks.read_text().splitlines():
        d = json.loads(line)
        if d["node"] == node and (with_nation is None or with_nation in d["nations"]):
            return d["t"]
    return None


@pytest.fixture(scope="module")
def shared(recorded, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("shared")
    summary = replay(recorded / "sensors.yaml", recorded / "measurements.jsonl", out, share=True, step_s=2.0,
                     baseline=False)
    return out, summary


@pytest.fixture(scope="module")
def alone(recorded, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("alone")
    summary = replay(recorded / "sensors.yaml", recorded / "measurements.jsonl", out, share=False, step_s=2.0)
    return out, summary


@pytest.mark.slow
def test_sharing_gives_japan_the_object_earlier(shared, alone):
    shared_out, _ = shared
    alone_out, _ = alone
    t_shared = _first_held(shared_out / "tracks.jsonl", "jp", with_nation="kr")
    t_alone = _first_held(alone_out / "tracks.jsonl", "jp")
    assert t_shared is not None, "Japan never received Korea's track"
    assert t_alone is not None, "Japan's own radar never made a track"
    assert t_shared + 30.0 < t_alone, (t_shared, t_alone)


@pytest.mark.slow
def test_transport_clean_and_nothing_left_behind(shared):
    _, summary = shared
    tr = summary["transport"]
    assert tr["delivered"] > 100
    assert tr["missing_heartbeats"] == 0
    assert tr["held_at_end"] == 0
    for nation in ("kr", "jp"):
        counters = tr[f"{nation}_counters"]
        rejected = {k: v for k, v in counters.items()
                    if k.startswith("recv_") and k != "recv_accepted" and v}
        assert not rejected, (nation, rejected)
        assert counters["recv_accepted"] > 0


@pytest.mark.slow
def test_no_sensor_identity_leaves_a_nation(shared):
    out, _ = shared
    # Japan's picture names contributing nations, never Korea's sensor ids.
    text = (out / "tracks.jsonl").read_text()
    assert "kr-r1" not in text


@pytest.mark.slow
def test_every_cap_message_is_an_exercise_and_valid(shared):
    out, _ = shared
    for path in sorted((out / "cap").glob("*.xml")):
        xml = path.read_bytes()
        assert b"<status>Exercise</status>" in xml
        assert validate_cap(xml) == [], path.name


@pytest.mark.slow
def test_alone_run_is_deterministic(recorded, alone, tmp_path):
    first_out, _ = alone
    replay(recorded / "sensors.yaml", recorded / "measurements.jsonl", tmp_path, share=False, step_s=2.0)
    assert (tmp_path / "tracks.jsonl").read_bytes() == (first_out / "tracks.jsonl").read_bytes()
    assert (tmp_path / "events.jsonl").read_bytes() == (first_out / "events.jsonl").read_bytes()


@pytest.mark.slow
def test_baseline_process_gives_the_alone_runs_alerts(recorded, alone):
    # The no-share baseline of `triwarn replay` runs in a second process: the same first alerts as in-process.
    _, summary = alone
    sensors = load_sensors(recorded / "sensors.yaml")
    log = read_measurements(recorded / "measurements.jsonl", sensors)
    nations = nations_with_sensors(sensors)
    times = step_times(log, 2.0)
    alerts, wall_s = BaselineProcess(sensors, log, nations, times, exercise="REPLAY", run_tag="tb").result()
    assert wall_s > 0

    def by_node(a: dict) -> dict:  # incident ids carry the run's tag: compare what each incident held
        return {node: list(incidents.values()) for node, incidents in a.items()}

    assert by_node(alerts) == by_node(summary["alerts"])
    assert any(rec["first_notice_unix_s"] or rec["first_shelter_unix_s"]
               for incs in by_node(alerts).values() for areas in incs for rec in areas.values())


@pytest.mark.slow
def test_cot_tracks_every_ten_seconds_alert_areas_with_their_warnings(shared):
    out, summary = shared
    track_times: dict[str, list[float]] = {}
    area_events = 0
    for path in (out / "cot").glob("*.xml"):
        node, t, _k = path.stem.split("-")
        text = path.read_text()
        if 'type="a-h-A-W-M-S-S"' in text:
            track_times.setdefault(node, []).append(float(t))
        area_events += 'type="u-d-f"' in text
    assert set(track_times) == set(summary["nations"])
    for node, ts in track_times.items():
        ts = sorted(set(ts))
        assert len(ts) >= 3, (node, ts)
        assert min(b - a for a, b in itertools.pairwise(ts)) >= 10.0, (node, ts)  # steps are 2 s: not every step
    assert (summary["cap_messages"] > 0) == (area_events > 0)


def test_gain_rows_compare_shelter_alerts_and_notices_per_area():
    # Two incidents in the shared run (the earliest counts), a notice-only area, an area only one run
    # alerted: each must appear, with the gain only where both runs alerted.
    def rec(shelter=None, notice=None):
        return {"first_shelter_unix_s": shelter, "first_notice_unix_s": notice}

    shared = {"jp": {"i1": {"JP-01": rec(shelter=130.0), "JP-05": rec(notice=79.0)},
                     "i2": {"JP-01": rec(shelter=120.0)}}}
    alone = {"jp": {"j1": {"JP-01": rec(shelter=150.0), "JP-05": rec(notice=123.0), "JP-02": rec(shelter=160.0)}}}
    rows = {(r["node"], r["area"]): r for r in gain_rows(shared, alone)}
    assert set(rows) == {("jp", "JP-01"), ("jp", "JP-02"), ("jp", "JP-05")}
    assert rows["jp", "JP-01"]["first_shelter_shared_unix_s"] == 120.0 and rows["jp", "JP-01"]["gain_s"] == 30.0
    assert rows["jp", "JP-05"]["notice_gain_s"] == 44.0 and rows["jp", "JP-05"]["gain_s"] is None
    assert rows["jp", "JP-02"]["gain_s"] is None and rows["jp", "JP-02"]["first_shelter_alone_unix_s"] == 160.0
