"""Issue 18, "the first hour of a new user", on the command line: bundled scenarios by name and
`triwarn scenarios list`, help written for users, the README's commands table, `triwarn sensors split`,
a fast error for an unreachable NATS server, counts that agree and grammatical plurals, no wrapping off a
terminal. CliRunner only (no servers, no subprocesses): part of the fast layer."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.scenario import bundled_names, resolve_scenario
from triwarn.wording import article, plural

ROOT = Path(__file__).parents[1]
runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, list(args))
    return result, result.output + (result.stderr or "")


# ------------------------------------------------------------------------------------ scenarios by name

def test_scenarios_list_shows_every_bundled_scenario_with_launches_and_sensors():
    result, text = _run("scenarios", "list")
    assert result.exit_code == 0, text
    names = bundled_names()
    assert "2022-10-04-irbm-aomori" in names and len(names) >= 10
    lines = result.stdout.splitlines()
    for name in names:
        row = next(line for line in lines if line.startswith(name + " "))
        assert re.search(r"\d+ launch(es)?; sensors: \d+ jp, \d+ kr, \d+ us", row), row
    assert "1 launch;" in result.stdout and "24 launches;" in result.stdout  # salvo-srbm-24 expanded
    assert "1 launches" not in result.stdout
    assert "flew over Aomori" in result.stdout  # the description, from the file's leading comment


@pytest.mark.parametrize("name", ["2022-10-04-irbm-aomori.yaml", "2022-10-04-irbm-aomori"])
def test_a_bundled_name_resolves_from_any_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = resolve_scenario(name)
    assert path.is_file() and path.name == "2022-10-04-irbm-aomori.yaml"
    local = tmp_path / "2022-10-04-irbm-aomori.yaml"  # an existing file wins over the bundled one
    local.write_text("name: mine\n")
    assert resolve_scenario("2022-10-04-irbm-aomori.yaml") == Path("2022-10-04-irbm-aomori.yaml")


def test_simulate_takes_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, text = _run("simulate", "salvo-srbm-example", "--out", "rec", "--seed", "1")
    assert result.exit_code == 0, text
    assert (tmp_path / "rec" / "measurements.jsonl").stat().st_size > 0
    assert "4 launches, " in result.stdout


def test_an_unknown_name_exits_2_with_close_matches(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["simulate", "2022-10-04-irbm-aomory.yaml", "--out", "rec"],
                 ["exercise", "run", "2022-10-04-irbm-aomory", "--out", "out"]):
        result, text = _run(*args)
        assert result.exit_code == 2, text
        assert "triwarn: error:" in result.stderr
        assert "did you mean 2022-10-04-irbm-aomori" in result.stderr
        assert "triwarn scenarios list" in result.stderr
    result, text = _run("simulate", str(tmp_path / "no" / "such.yaml"), "--out", "rec")
    assert result.exit_code == 2 and "scenario file not found" in result.stderr


# ------------------------------------------------------------------------------------------------- help

def _commands() -> list[list[str]]:
    return [["trajectory"], ["simulate"], ["track"], ["assess"], ["replay"], ["demo"], ["node"],
            ["exercise", "run"], ["scenarios", "list"], ["sensors", "split"], ["keys", "new"], ["keys", "trust"],
            ["network", "config"], ["network", "up"], ["network", "schema"], ["users", "add"], ["users", "list"],
            ["hazard-zones"], ["tabletop", "serve"], ["tabletop", "run"]]


def test_top_level_help_is_written_for_users():
    result, text = _run("--help")
    assert result.exit_code == 0, text
    assert "InputError" not in text and "hands over to the package" not in text  # not the module docstring
    assert "triwarn scenarios list" in text and "triwarn demo" in text
    for name in ("simulate", "exercise", "scenarios", "sensors", "node", "keys", "network", "users", "hazard-zones",
                 "tabletop"):
        assert re.search(rf"^  {name} +\S", text, re.M), name
    assert "..." not in text.split("Commands:")[1]  # short helps fit: none cut off


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_help_has_readable_types_and_an_explanation(command):
    result, text = _run(*command, "--help")
    assert result.exit_code == 0, text
    assert not re.search(r"<(bool|list\[|int|float|path|str)", text.split("Options:")[1]), text
    assert "Options:" in text and len(text.split("Options:")[0].strip().splitlines()) >= 2


def test_option_metavars():
    _, text = _run("exercise", "run", "--help")
    for opt in ("--out DIR", "--speed X", "--seed N", "--step-s S"):
        assert opt in text
    _, text = _run("assess", "--help")
    assert "--tracks FILE" in text
    _, text = _run("node", "--help")
    assert "--exercise NAME" in text and "--keys DIR" in text


def test_readme_commands_table_lists_every_command():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Commands")[1].split("\n\n")[1]
    for needle in ("`triwarn keys trust", "`triwarn network schema", "`triwarn scenarios list",
                   "`triwarn sensors split", "`triwarn users", "`triwarn hazard-zones", "`triwarn tabletop"):
        assert needle in table, needle


# ----------------------------------------------------------------------------------------- sensors split

def test_sensors_split_writes_one_sensors_and_measurements_file_per_nation(tmp_path):
    rec = tmp_path / "rec"
    run_simulate(ROOT / "tests/node/short_mrbm.yaml", rec, seed=3)
    meas = rec / "measurements.jsonl"
    lines = meas.read_text().splitlines()
    meas.write_text("\n".join([*lines, "{not json", json.dumps({**json.loads(lines[0]), "sensor": "x"})]) + "\n")
    out = tmp_path / "split"
    result, text = _run("sensors", "split", "--sensors", str(rec / "sensors.yaml"), "--measurements", str(meas),
                        "--out", str(out))
    assert result.exit_code == 0, text
    total = 0
    for nation in ("kr", "jp"):
        own = load_sensors(out / f"sensors-{nation}.yaml")
        assert own and all(s.nation == nation for s in own.values())
        kept = (out / f"measurements-{nation}.jsonl").read_text().splitlines()
        assert kept and all(json.loads(x)["sensor"] in own for x in kept)
        total += len(kept)
        assert f"sensors-{nation}.yaml: 1 sensor;" in result.stdout
    assert total == len(lines)
    assert "2 lines of" in result.stdout and "left out" in result.stdout
    # The node takes a split file.
    result, text = _run("node", "--nation", "kr", "--keys", str(tmp_path), "--servers", "nats://127.0.0.1:1",
                        "--exercise", "X", "--sensors", str(rec / "sensors.yaml"), "--measurements", str(meas))
    assert result.exit_code == 2 and "triwarn sensors split" in text


def test_sensors_split_without_measurements_and_bad_input(tmp_path):
    rec = tmp_path / "rec"
    run_simulate(ROOT / "tests/node/short_mrbm.yaml", rec, seed=3)
    result, text = _run("sensors", "split", "--sensors", str(rec / "sensors.yaml"), "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, text
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["sensors-jp.yaml", "sensors-kr.yaml"]
    result, text = _run("sensors", "split", "--sensors", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "s"))
    assert result.exit_code == 2 and "none.yaml" in text


# ------------------------------------------------------------------------------------ unreachable server

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_node_with_an_unreachable_server_fails_fast_naming_the_url(tmp_path):
    keys = tmp_path / "keys"
    for nation in ("us", "jp", "kr"):
        assert _run("keys", "new", "--nation", nation, "--dir", str(keys))[0].exit_code == 0
    url = f"nats://127.0.0.1:{_free_port()}"  # nobody listens there
    t0 = time.monotonic()
    result, text = _run("node", "--nation", "kr", "--exercise", "X", "--keys", str(keys), "--servers", url,
                        "--password", "pw", "--out", str(tmp_path / "out"))
    elapsed = time.monotonic() - t0
    assert result.exit_code == 2, text
    assert url in result.stderr and "cannot reach" in result.stderr and "--servers" in result.stderr
    assert elapsed < 8.0, elapsed


# ------------------------------------------------------------------------------- counts and grammar

def test_plural_and_article():
    assert plural(1, "launch") == "1 launch" and plural(2, "launch") == "2 launches"
    assert plural(0, "sensor") == "0 sensors" and plural(1, "try", "tries") == "1 try"
    assert plural(3, "report time") == "3 report times"
    assert article("icbm") == "an icbm" and article("irbm") == "an irbm" and article("srbm") == "an srbm"
    assert article("radar") == "a radar" and article("object") == "an object"


def test_solver_error_says_an_icbm():
    result, text = _run("trajectory", "--launch", "39.0,125.7", "--azimuth", "90", "--apogee-km", "6000",
                        "--range-km", "20000")
    assert result.exit_code == 2, text
    assert "no flight of an icbm" in text and " a icbm" not in text


def test_track_counts_agree_with_the_reader(tmp_path):
    rec = tmp_path / "rec"
    run_simulate(ROOT / "src/triwarn/scenarios/salvo-srbm-example.yaml", rec, seed=4)
    n_lines = len((rec / "measurements.jsonl").read_text().splitlines())
    result, text = _run("track", "--sensors", str(rec / "sensors.yaml"), "--measurements",
                        str(rec / "measurements.jsonl"), "--out", str(tmp_path / "t.jsonl"))
    assert result.exit_code == 0, text
    assert f"{n_lines} lines accepted" in result.stderr
    processed = int(re.search(r"(\d+) detections? processed", result.stderr).group(1))
    if processed != n_lines:  # the ones after the last report time are said, with the total read
        assert f"({n_lines} read, {n_lines - processed} after the last report time)" in result.stderr


def _metrics(baseline_s: float) -> dict:
    t0 = 1_700_000_000.0
    return {"exercise": {"name": "X", "t0_unix_s": t0, "t_start_unix_s": t0, "t_end_unix_s": t0 + 1483.0,
                         "step_s": 1.0, "cap_messages": 1},
            "wall_s": {"shared_run": 12.0, "baseline_run": baseline_s},
            "first_alerts": [{"node": "jp", "area": "JP-02", "first_shelter_shared_unix_s": t0 + 300.0,
                              "first_shelter_alone_unix_s": None if not baseline_s else t0 + 320.0,
                              "truth_enter_unix_s": t0 + 400.0}]}


def test_exercise_outcome_counts_steps_and_drops_the_absent_baseline(tmp_path, capsys):
    from triwarn.exercise.commands import _print_outcome
    from triwarn.wording import console

    _print_outcome(console(stderr=True), _metrics(0.0), tmp_path)
    err = capsys.readouterr().err
    assert "1483 s simulated (1484 steps of 1 s)" in err and "1 CAP message (Exercise)" in err
    assert "baseline" not in err and "alone" not in err
    _print_outcome(console(stderr=True), _metrics(9.5), tmp_path)
    err = capsys.readouterr().err
    assert "(+ baseline 9.5 s)" in err and "alone T+320s" in err


def test_console_does_not_wrap_off_a_terminal(capsys):
    from triwarn.wording import console

    long = "word " * 60 + "END"
    console(stderr=True).print(long)
    console().print(long)
    captured = capsys.readouterr()
    assert long in captured.err.splitlines() and long in captured.out.splitlines()


@pytest.mark.parametrize(("args", "needle"), [
    (["node", "--nation", "kr", "--exercise", "X", "--keys", ".", "--servers", "nats://127.0.0.1:1",
      "--step-s", "100000"], "step 100000.0 s is outside"),
    (["node", "--nation", "kr", "--exercise", "X", "--keys", ".", "--servers", "nats://127.0.0.1:1",
      "--port", "99999"], "port 99999 is outside"),
    (["network", "up", "--cluster", "fr"], "not a nation of the network"),
])
def test_out_of_range_options_are_refused_before_anything_starts(args, needle):
    result, text = _run(*args)
    assert result.exit_code == 2, text
    assert needle in " ".join(text.split()), text
