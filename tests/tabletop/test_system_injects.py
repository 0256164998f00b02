"""MSEL injects that change the base run: a scheduled sensor outage, link down or second launch is compiled
into the base scenario's faults and launches before it runs; their `system:` fields are checked at the edge."""

from __future__ import annotations

import asyncio

import pytest

from triwarn.errors import InputError
from triwarn.exercise.plan import load_plan
from triwarn.tabletop.plan import load_tabletop
from triwarn.tabletop.system import base_timeline, compile_system_injects

from .conftest import SCENARIO, write_tabletop

BASE = SCENARIO.replace('t0_utc: "2024-01-15T01:00:00Z"\n', "base: irbm-toward-guam\n")


def _msel(*rows: str) -> str:
    return "msel:\n" + "".join(rows)


OUTAGE = """\
  - {number: 1, time: "00:30", type: sensor_outage, to: [kr], description: Radar fault.,
     system: {sensor: kr-gp-central, for: "03:00"}}
"""
LINK = """\
  - {number: 2, time: "01:00", type: link_down, to: [us, kr], description: Link down.,
     system: {nation: kr, for: "02:00"}}
"""
LAUNCH = """\
  - {number: 3, time: "02:00", type: second_launch, to: all, description: A second launch.,
     system: {launch: L2, like: L1, aim_lat_deg: 33.0, aim_lon_deg: 135.0, range_km: 1000, apogee_km: 300}}
"""
NARRATIVE = """\
  - {number: 4, time: "03:00", type: false_report, to: [kr], description: Media report.}
"""


def test_scheduled_system_injects_become_the_base_runs_faults_and_launches(tmp_path):
    plan = load_tabletop(write_tabletop(tmp_path / "t", scenario=BASE, msel=_msel(OUTAGE, LINK, LAUNCH, NARRATIVE)))
    assert [i.system is not None for i in plan.msel] == [True, True, True, False]
    base = load_plan(plan.base)
    n_launches, n_outages = len(base.scenario.launches), len(base.links.outages)
    done = compile_system_injects(base, plan)
    assert [d["inject"] for d in done] == [1, 2, 3]
    t0 = plan.t0_unix_s
    down = base.sensor_downs[-1]
    assert (down.sensor, down.start_unix_s - t0, down.end_unix_s - t0) == ("kr-gp-central", 30.0, 210.0)
    outage = base.links.outages[-1]
    assert len(base.links.outages) == n_outages + 1
    assert (outage.nation, outage.start_unix_s - t0, outage.end_unix_s - t0) == ("kr", 60.0, 180.0)
    assert len(base.scenario.launches) == n_launches + 1
    second = base.scenario.launches[-1]
    assert second.id == "L2" and second.t_unix_s - t0 == 120.0
    assert (second.spec.aim_lat_deg, second.spec.aim_lon_deg, second.spec.range_km) == (33.0, 135.0, 1000.0)
    assert second.spec.launch_lat_deg == base.scenario.launches[0].spec.launch_lat_deg  # flown from L1's site
    kinds = {f["kind"] for f in base.fault_events()}
    assert {"sensor_down", "link_down"} <= kinds


@pytest.mark.parametrize(("row", "field", "why"), [
    (OUTAGE.replace("kr-gp-central", "kr-nope"), "msel[0].system.sensor", "no sensor 'kr-nope'"),
    (LINK.replace("nation: kr", "nation: fr"), "msel[0].system.nation", "unknown nation 'fr'"),
    (LAUNCH.replace("like: L1", "like: L9"), "msel[0].system.like", "no launch 'L9'"),
    (LAUNCH.replace("aim_lat_deg: 33.0, ", ""), "msel[0].system.aim_lat_deg", "give both"),
    (OUTAGE.replace('for: "03:00"', "for: -3"), "msel[0].system.for", "negative time"),
    (NARRATIVE.replace("description: Media report.", "description: x, system: {nation: kr, for: 60}"),
     "msel[0].system", "stays narrative"),
])
def test_bad_system_fields_name_the_file_line_and_field(tmp_path, row, field, why):
    text = _msel(row)
    path = write_tabletop(tmp_path / "t", scenario=BASE, msel=text)
    with pytest.raises(InputError, match=why) as err:
        load_tabletop(path)
    line = next(k for k, x in enumerate(text.splitlines(), 1) if "system:" in x)
    assert err.value.source.endswith("msel.yaml") and err.value.field == field and err.value.line == line


def test_system_inject_needs_a_base_scenario(tmp_path):
    with pytest.raises(InputError, match="no base scenario") as err:
        load_tabletop(write_tabletop(tmp_path / "t", msel=_msel(OUTAGE)))
    assert err.value.field == "msel[0].system"


@pytest.mark.slow  # two short runs of the base scenario through the exercise engine over NATS
def test_a_scheduled_sensor_outage_changes_the_base_run(tmp_path):
    """Korea's three sensors down and its link down from T0 for a minute: Korea's node detects the launch
    only after they come back; without the injects it detects it well before (about T+40 s)."""
    short = BASE.replace('duration: "30:00"', 'duration: "01:40"').replace('at: "10:00"', 'at: "01:30"')
    rows = "".join(f"""\
  - {{number: {k + 1}, time: "00:00", type: sensor_outage, to: [kr], description: Sensor down.,
     system: {{sensor: {s}, for: "01:00"}}}}
""" for k, s in enumerate(("kr-gp-central", "kr-gp-south", "kr-ddg-east-sea")))
    rows += """\
  - {number: 4, time: "00:00", type: link_down, to: [kr], description: Link down., system: {nation: kr, for: "01:00"}}
"""
    quiet = load_tabletop(write_tabletop(tmp_path / "a", scenario=short, msel=_msel(NARRATIVE.replace("03:00",
                                                                                                      "01:00"))))
    faulty = load_tabletop(write_tabletop(tmp_path / "b", scenario=short, msel=_msel(rows)))

    def first_kr_detection(plan, out):
        tl = asyncio.run(base_timeline(plan, out))
        return min(e.t_s for e in tl.events if e.nation == "kr" and e.kind == "launch_detected"), tl

    t_quiet, _ = first_kr_detection(quiet, tmp_path / "qa")
    t_faulty, tl = first_kr_detection(faulty, tmp_path / "qb")
    assert t_faulty >= 60.0 > t_quiet
    assert [d["kind"] for d in tl.info["system_injects"]] == ["sensor_down"] * 3 + ["link_down"]
