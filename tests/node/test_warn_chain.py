"""The warning chain through NationalNode on recorded data, scored against the truth of the flight.

Two small cases from tests/node/short_mrbm.yaml (one Korean, one Japanese radar; each nation alone, so
no NATS is needed here - test_replay.py covers sharing):
- the MRBM as recorded, into the Sea of Japan;
- the same missile with a longer range, over northern Honshu, and the same flight with the Japanese
  radar's data cut before the missile reaches Japan (the 2022-11-03 case: the object vanished); these
  two run Japan's node only (the areas at stake are Japanese).
No shelter alert may go to an area more than 100 km from the true ground track and impact point, no
area may be all-cleared before the object passed it, and a lost object is never "passed".
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from triwarn.exercise.replay import first_alerts, make_nodes
from triwarn.geo.areas import AreaIndex
from triwarn.node.lockstep import NodeFeed, run_lockstep
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.sensors.truth_reader import read_truth
from triwarn_eval.scoring import score_warnings, warhead_path

HERE = Path(__file__).parent
STEP_S = 2.0


def _simulate(tmp: Path, range_km: float | None = None) -> Path:
    spec = yaml.safe_load((HERE / "short_mrbm.yaml").read_text())
    if range_km is not None:
        spec["launches"][0]["range_km"] = range_km
        spec["launches"][0]["azimuth_deg"] = 88
    scenario = tmp / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(spec))
    run_simulate(scenario, tmp / "sim", seed=3)
    return tmp / "sim"


def _run_nodes(sim: Path, areas, *, cut_after_s: float | None = None,
               nations=("kr", "jp")) -> tuple[dict, list]:
    """Each nation's node alone over the recorded detections (JP's cut cut_after_s after launch), on
    2 s steps until 130 s after the true impact. Returns the summary alerts and the issued messages."""
    truth = warhead_path(read_truth(sim / "truth.jsonl"))
    sensors = load_sensors(sim / "sensors.yaml")
    meas = sim / "measurements.jsonl"
    if cut_after_s is not None:
        cut = truth.launch_unix_s + cut_after_s
        keep = [line for line in meas.read_text().splitlines()
                if not (json.loads(line)["sensor"].startswith("jp") and json.loads(line)["t"] > cut)]
        meas = sim / "measurements-cut.jsonl"
        meas.write_text("\n".join(keep) + "\n")
    log = read_measurements(meas, sensors)
    nations = list(nations)
    nodes = make_nodes(sensors, nations, exercise="TEST", areas=areas, run_tag="T")
    feeds = {n: NodeFeed.for_nation(log, sensors, n) for n in nations}
    times = np.arange(np.floor(truth.launch_unix_s), truth.impact_unix_s + 130.0, STEP_S)
    asyncio.run(run_lockstep(nodes, feeds, times))
    issued = {n: node.issued for n, node in nodes.items()}
    return first_alerts(issued), [m for msgs in issued.values() for m in msgs]


@pytest.fixture(scope="module")
def areas():
    return AreaIndex.load()


@pytest.fixture(scope="module")
def over_honshu(tmp_path_factory) -> Path:
    return _simulate(tmp_path_factory.mktemp("honshu"), range_km=1500.0)


@pytest.mark.slow
def test_sea_of_japan_case_alerts_no_area_far_from_the_truth(tmp_path, areas):
    sim = _simulate(tmp_path)
    truth = warhead_path(read_truth(sim / "truth.jsonl"))
    alerts, _issued = _run_nodes(sim, areas)
    sc = score_warnings(truth, alerts, [], areas)
    assert sc["false_alerts"] == []
    assert sc["wrong_passed"] == [] and sc["early_clear"] == []
    # It falls in the sea: nothing may call for shelter on land it does not reach.
    assert all(a["lead_s"] is not None for a in sc["areas_on_path"]), sc["areas_on_path"]


@pytest.mark.slow
def test_overflight_is_alerted_early_and_nothing_far_is(over_honshu, areas):
    truth = warhead_path(read_truth(over_honshu / "truth.jsonl"))
    alerts, issued = _run_nodes(over_honshu, areas, nations=("jp",))
    sc = score_warnings(truth, alerts, [], areas)
    jp_on_path = [a for a in sc["areas_on_path"] if a["node"] == "jp"]
    assert jp_on_path, "the longer flight should cross Honshu"
    # Every Japanese area the warhead truly crosses gets its shelter alert before the warhead is there.
    assert all(a["lead_s"] is not None and a["lead_s"] > 60.0 for a in jp_on_path), jp_on_path
    assert sc["false_alerts"] == [], sc["false_alerts"]
    assert sc["wrong_passed"] == [] and sc["early_clear"] == []
    assert all(m.references or m.msg_type == "Alert" for m in issued)


@pytest.mark.slow
def test_a_lost_object_is_never_passed(over_honshu, areas):
    truth = warhead_path(read_truth(over_honshu / "truth.jsonl"))
    first_over = min(a["reach_after_launch_s"] for a in
                     score_warnings(truth, {}, [], areas)["areas_on_path"] if a["node"] == "jp")
    alerts, issued = _run_nodes(over_honshu, areas, cut_after_s=first_over - 90.0, nations=("jp",))
    states = {a.state for m in issued for a in m.areas}
    assert "shelter" in states  # the alert went out before the data stopped...
    assert "passed" not in states  # ...and passage, never seen, is never announced
    sc = score_warnings(truth, alerts, [], areas)
    assert sc["false_alerts"] == [] and sc["early_clear"] == []


def test_adjacent_prefectures_option_uses_the_areas_neighbours(areas):
    from triwarn.node.core import NationalNode, NodeSettings
    from triwarn.warn.policy import WarnPolicy

    node = NationalNode(NodeSettings("jp", "TEST", "R1", warn_policy=WarnPolicy(alert_adjacent=True)), {},
                        areas=areas)
    adjacency = node.warner.policy.adjacency
    assert {"JP-03", "JP-05"} <= set(adjacency["JP-02"])  # Aomori: Iwate and Akita
    assert all(c.startswith("JP-") for nbs in adjacency.values() for c in nbs)
    off = NationalNode(NodeSettings("jp", "TEST", "R2"), {}, areas=areas)
    assert not off.warner.policy.alert_adjacent and not off.warner.policy.adjacency


@pytest.mark.slow
def test_an_area_under_the_boost_is_sheltered_before_the_missile_gets_there(tmp_path, areas):
    # Guam IRBM from Wonsan, seen by Korea's East Sea destroyer alone: the missile is over Gangwon (KR-42)
    # while its motor still burns (+131 s). Before boost-phase alerts, KR-42's shelter alert came with the
    # first ballistic prediction, 3-6 s before the missile; the cut-off path alerts it about a minute
    # earlier. Only KR's node, only the first 260 s (KR-42 and KR-47 are crossed by +187 s).
    spec = yaml.safe_load((Path(__file__).parents[2] / "src/triwarn/scenarios/irbm-toward-guam.yaml").read_text())
    spec["sensors"] = [s for s in spec["sensors"] if s["id"] == "kr-ddg-east-sea"]
    spec["sensors"][0]["clutter_rate"] = 0.0
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump(spec))
    run_simulate(scenario, tmp_path / "sim", seed=2)
    sim = tmp_path / "sim"
    truth = warhead_path(read_truth(sim / "truth.jsonl"))
    sensors = load_sensors(sim / "sensors.yaml")
    log = read_measurements(sim / "measurements.jsonl", sensors)
    nodes = make_nodes(sensors, ["kr"], exercise="TEST", areas=areas, run_tag="B")
    times = np.arange(np.floor(truth.launch_unix_s), truth.launch_unix_s + 260.0, STEP_S)
    asyncio.run(run_lockstep(nodes, {"kr": NodeFeed.for_nation(log, sensors, "kr")}, times))
    alerts = first_alerts({"kr": nodes["kr"].issued})
    sc = score_warnings(truth, alerts, [], areas)
    on_path = {a["area"]: a for a in sc["areas_on_path"] if a["node"] == "kr"}
    assert on_path["KR-42"]["reach_after_launch_s"] < 180.0  # under the boost (burnout ~+180 s)
    assert on_path["KR-42"]["lead_s"] is not None and on_path["KR-42"]["lead_s"] > 30.0, on_path
    assert on_path["KR-47"]["lead_s"] is not None and on_path["KR-47"]["lead_s"] > 60.0, on_path
    assert sc["false_alerts"] == [] and sc["wrong_passed"] == [] and sc["early_clear"] == []
