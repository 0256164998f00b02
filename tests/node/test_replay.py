"""The whole chain over real NATS in lockstep, on a small recorded case (tests/node/short_mrbm.yaml).

Korea's radar sees the ascent about a minute before Japan's radar sees anything, so with sharing
Japan's picture must hold the object earlier than Japan alone; the run must be clean (no message
rejected, none left undelivered) and deterministic for the same input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triwarn.exercise.replay import replay
from triwarn.sensors.commands import run_simulate
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


def test_sharing_gives_japan_the_object_earlier(shared, alone):
    shared_out, _ = shared
    alone_out, _ = alone
    t_shared = _first_held(shared_out / "tracks.jsonl", "jp", with_nation="kr")
    t_alone = _first_held(alone_out / "tracks.jsonl", "jp")
    assert t_shared is not None, "Japan never received Korea's track"
    assert t_alone is not None, "Japan's own radar never made a track"
    assert t_shared + 30.0 < t_alone, (t_shared, t_alone)


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


def test_no_sensor_identity_leaves_a_nation(shared):
    out, _ = shared
    # Japan's picture names contributing nations, never Korea's sensor ids.
    text = (out / "tracks.jsonl").read_text()
    assert "kr-r1" not in text


def test_every_cap_message_is_an_exercise_and_valid(shared):
    out, _ = shared
    for path in sorted((out / "cap").glob("*.xml")):
        xml = path.read_bytes()
        assert b"<status>Exercise</status>" in xml
        assert validate_cap(xml) == [], path.name


def test_alone_run_is_deterministic(recorded, alone, tmp_path):
    first_out, _ = alone
    replay(recorded / "sensors.yaml", recorded / "measurements.jsonl", tmp_path, share=False, step_s=2.0)
    assert (tmp_path / "tracks.jsonl").read_bytes() == (first_out / "tracks.jsonl").read_bytes()
    assert (tmp_path / "events.jsonl").read_bytes() == (first_out / "events.jsonl").read_bytes()
