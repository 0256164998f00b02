"""The tabletop files at their edge: MSEL, objectives and decisions, and the errors that name file, line, field."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.errors import InputError
from triwarn.tabletop.decisions import load_decisions
from triwarn.tabletop.plan import load_tabletop

from .conftest import DECISIONS, MSEL, SCENARIO, write_tabletop


def test_plan_reads_msel_seats_objectives_and_times(tabletop):
    plan = load_tabletop(tabletop)
    assert plan.seats == ("controller", "us", "jp", "kr", "observer-eval")
    assert [i.number for i in plan.msel] == [1, 2, 3, 4]
    assert plan.msel[1].to == ("kr",) and plan.msel[1].time_s == 120.0
    assert plan.msel[3].to == ("us", "jp", "kr", "observer-eval")  # "all": every seat but the controller
    assert plan.duration_s == 1800.0 and plan.detonation.yield_kt == 300
    assert plan.decision_points() == [0.0, 60.0, 120.0, 300.0, 600.0]
    assert plan.t0_unix_s == 1705280400.0


def test_msel_unknown_seat_names_file_line_and_field(tmp_path):
    bad = MSEL.replace("to: [kr]", "to: [fr]")
    path = write_tabletop(tmp_path / "t", msel=bad)
    with pytest.raises(InputError) as err:
        load_tabletop(path)
    e = err.value
    assert e.source.endswith("msel.yaml") and e.field == "msel[1].to"
    assert e.line == MSEL.splitlines().index("    to: [kr]") + 1
    assert "unknown seat 'fr'" in str(e)


@pytest.mark.parametrize("time", ['"-01:00"', "-5"])
def test_msel_negative_time_is_refused(tmp_path, time):
    bad = MSEL.replace('time: "02:00"', f"time: {time}")
    path = write_tabletop(tmp_path / "t", msel=bad)
    with pytest.raises(InputError, match="negative time") as err:
        load_tabletop(path)
    assert err.value.field == "msel[1].time" and err.value.line == MSEL.splitlines().index('    time: "02:00"') + 1


def test_msel_unknown_objective_and_type(tmp_path):
    with pytest.raises(InputError, match="unknown objective 'OBJ-9'"):
        load_tabletop(write_tabletop(tmp_path / "a", msel=MSEL.replace("objective: OBJ-2", "objective: OBJ-9", 1)))
    with pytest.raises(InputError, match="unknown inject type 'earthquake'") as err:
        load_tabletop(write_tabletop(tmp_path / "b", msel=MSEL.replace("type: false_report", "type: earthquake")))
    assert err.value.field == "msel[1].type"


def test_detonation_and_bad_yaml_errors(tmp_path):
    with pytest.raises(InputError, match="below the minimum") as err:
        load_tabletop(write_tabletop(tmp_path / "a", scenario=SCENARIO.replace("yield_kt: 300", "yield_kt: -1")))
    assert err.value.field == "detonation.yield_kt" and err.value.line == 7
    with pytest.raises(InputError, match="not valid YAML") as err:
        load_tabletop(write_tabletop(tmp_path / "b", msel="msel: [\n  {number: 1,\n"))
    assert err.value.source.endswith("msel.yaml") and err.value.line is not None


def test_decisions_unknown_area_names_file_line_and_field(tabletop):
    plan = load_tabletop(tabletop)
    bad = DECISIONS.replace("areas: [KR-49]", "areas: [KR-99]")
    path = tabletop.parent / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(InputError, match="no area 'KR-99'") as err:
        load_decisions(path, plan)
    assert err.value.field == "decisions[1].areas" and err.value.line == 3
    assert err.value.source == str(path)


@pytest.mark.parametrize(("old", "new", "field", "why"), [
    ("seat: kr, action: hold_alert", "seat: fr, action: hold_alert", "decisions[1].seat", "unknown seat 'fr'"),
    ('at: "01:45"', "at: -3", "decisions[1].at", "negative time"),
    ("inject: 3", "inject: 33", "decisions[4].inject", "no inject 33"),
    ("action: ask_partner", "action: launch_interceptor", "decisions[2].action", "unknown action"),
])
def test_decisions_bad_rows(tabletop, old, new, field, why):
    plan = load_tabletop(tabletop)
    path = tabletop.parent / "bad.yaml"
    path.write_text(DECISIONS.replace(old, new, 1))
    with pytest.raises(InputError, match=why) as err:
        load_decisions(path, plan)
    assert err.value.field == field


def test_cli_bad_input_exits_2_with_one_line(tabletop, tmp_path):
    bad = tabletop.parent / "bad.yaml"
    bad.write_text(DECISIONS.replace("areas: [JP-47], inject: 1", "areas: [JP-99], inject: 1"))
    res = CliRunner().invoke(app, ["tabletop", "run", str(tabletop), "--decisions", str(bad),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "bad.yaml:2: field 'decisions[0].areas': no area 'JP-99'" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(app, ["tabletop", "run", "no-such-ttx", "--decisions", str(bad), "--out",
                                   str(tmp_path / "o")])
    assert res.exit_code == 2 and "no such tabletop scenario" in res.output


@pytest.mark.slow  # loads the base scenario (its launches are solved): several seconds
def test_bundled_scenario_loads_with_its_decisions():
    plan = load_tabletop("guam-nuclear")
    assert plan.base is not None and plan.base.name == "irbm-toward-guam.yaml"
    assert plan.duration_s == 1800.0 and len(plan.msel) == 9
    script = load_decisions(plan.folder / "decisions.yaml", plan)
    assert len(script) == 18 and script == sorted(script, key=lambda d: d.t_s)


@pytest.mark.parametrize("command", [["tabletop", "serve"], ["tabletop", "run"]], ids=" ".join)
def test_tabletop_help_has_readable_types_and_an_example(command):
    import re

    res = CliRunner().invoke(app, [*command, "--help"])
    assert res.exit_code == 0
    assert not re.search(r"<(bool|list\[|int|float|path|str)", res.output.split("Options:")[1]), res.output
    assert "Example:" in res.output and "guam-nuclear" in res.output
