"""Declared hazard zones: a navigational warning read, checked, and pieces' falls scored against it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.errors import InputError
from triwarn.geo.hazard_zones import parse_notice, read_notice, score_falls

NOTICE = """NAVAREA XI 0600/23
YELLOW SEA. EAST CHINA SEA. PHILIPPINE SEA.
DPRK. ROCKET LAUNCHING 301500Z MAY TO 101500Z JUN 23 IN AREAS BOUNDED BY:
A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-30E, 35-19N 124-54E. (FIRST STAGE)
B. 33-16N 124-11E, 33-16N 125-09E, 32-22N 124-11E, 32-21N 125-08E. (FAIRING)
C. 19-44N 123-53E, 19-43N 124-51E, 17-01N 123-52E, 17-00N 124-48E. (SECOND STAGE)
"""


def _utc(*args) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_a_notice_gives_its_window_and_zones_in_degrees():
    n = parse_notice(NOTICE)
    assert n.ident == "NAVAREA XI 0600/23"
    assert n.window_start_unix_s == _utc(2023, 5, 30, 15, 0) and n.window_end_unix_s == _utc(2023, 6, 10, 15, 0)
    assert [z.label for z in n.zones] == ["A", "B", "C"]
    assert [z.role for z in n.zones] == ["stage1", "fairing", "stage2"]
    a = n.zones[0]
    assert a.corners_deg[0] == pytest.approx((36 + 4 / 60, 124.5))
    assert a.line == 4
    # Corners listed NW, NE, SW, SE (a crossing order) still make the rectangle, not a bow-tie.
    assert a.contains(35.7, 124.7) and not a.contains(35.7, 125.0)
    assert a.polygon.area == pytest.approx(0.4 * 0.75, rel=1e-6)


def test_other_date_time_groups_of_the_message_are_not_taken_for_the_window():
    n = parse_notice("300523Z MAY 23\n" + NOTICE + "2. CANCEL THIS MSG 111000Z JUN 23.\n")
    assert n.window_start_unix_s == _utc(2023, 5, 30, 15, 0) and len(n.zones) == 3


def test_degree_sign_forms_decimal_minutes_and_a_window_over_the_new_year():
    n = parse_notice("ROCKET LAUNCHING 301500Z DEC TO 021500Z JAN 24\n"
                     "A. 36°04'N 124°30'E, 36°04.5'N 124°54'E AND 35°19'N 124°54'E.\n")
    assert n.window_start_unix_s == _utc(2023, 12, 30, 15, 0)
    assert n.zones[0].corners_deg[1] == pytest.approx((36 + 4.5 / 60, 124.9))
    assert n.zones[0].role is None


def test_falls_are_scored_inside_or_outside_the_zone_declared_for_each_piece():
    n = parse_notice(NOTICE)
    scores = {s.object_id: s for s in score_falls(n, [("L1/stage1", 35.7, 124.7), ("L1/stage2", 21.0, 125.3),
                                                     ("L1/debris01", 32.8, 124.6)])}
    assert scores["L1/stage1"].inside and scores["L1/stage1"].zone == "A" and scores["L1/stage1"].declared_for_piece
    s2 = scores["L1/stage2"]
    assert not s2.inside and s2.zone == "C" and 140.0 < s2.distance_km < 200.0
    debris = scores["L1/debris01"]
    assert debris.zone == "B" and not debris.declared_for_piece and debris.inside


@pytest.mark.parametrize("line, field, words", [
    ("A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E (FIRST STAGE)", "zone A.corners", "open polygon"),
    ("A. 36-04N 124-30E, 36-04N 124-54E.", "zone A.corners", "open polygon"),
    ("A. 36-04N 124-30E, 36-04N 124-54E, .", "zone A.corner 3", "empty"),
    ("A. 36-04N 124-30E, 36-04 124-54E, 35-19N 124-54E.", "zone A.corner 2", "is not a corner"),
    ("A. 36-64N 124-30E, 36-04N 124-54E, 35-19N 124-54E.", "zone A.corner 1", "minutes"),
    ("A. 96-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E.", "zone A.corner 1", "latitude is out of range"),
    ("A. 36-04N 194-30E, 36-04N 124-54E, 35-19N 124-54E.", "zone A.corner 1", "longitude is out of range"),
    ("A. 36-04N 124-30E, 36-04N 124-54E, 36-04N 125-30E.", "zone A.corners", "no area"),
    ("A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E. (THIRD FAIRING)", "zone A.role", "unknown piece"),
])
def test_a_bad_zone_is_refused_naming_its_line_and_field(line, field, words):
    with pytest.raises(InputError) as err:
        parse_notice("NAVAREA XI 1/23\n301500Z MAY TO 101500Z JUN 23\n" + line + "\n", "n.txt")
    assert err.value.line == 3 and err.value.field == field and err.value.source == "n.txt"
    assert words in err.value.reason


@pytest.mark.parametrize("window, field, words", [
    ("301500Z MAY TO 101500Z MAY 23", "window.end", "ends"),
    ("301500Z MAY TO 301500Z MAY 23", "window.end", "ends"),
    ("301500Z MAY TO 101500Z JUN", "window.end", "year"),
    ("301500Z MAY TO 1015Z JUN 23", "window", "DDHHMMZ"),
    ("321500Z MAY TO 101500Z JUN 23", "window.start", "day is out of range"),
    ("301500Z MAI TO 101500Z JUN 23", "window.start", "month"),
    ("301500Z MAY 23 TO 101500Z DEC 23", "window.end", "impossible"),
])
def test_a_bad_window_is_refused_naming_its_line(window, field, words):
    with pytest.raises(InputError) as err:
        parse_notice(f"NAVAREA XI 1/23\n{window}\nA. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E.\n")
    assert err.value.line == 2 and err.value.field == field
    assert words in err.value.reason


def test_a_notice_without_window_or_zones_or_with_a_zone_twice_is_refused():
    for text, field in (("A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E.\n", "window"),
                        ("301500Z MAY TO 101500Z JUN 23\n", "zones"),
                        ("301500Z MAY TO 101500Z JUN 23\nA. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E.\n"
                         "A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E.\n", "zone A")):
        with pytest.raises(InputError) as err:
            parse_notice(text)
        assert err.value.field == field


def test_the_command_prints_the_zones_and_exits_2_on_bad_input(tmp_path):
    good = tmp_path / "navarea.txt"
    good.write_text(NOTICE)
    runner = CliRunner()
    result = runner.invoke(app, ["hazard-zones", str(good)])
    assert result.exit_code == 0, result.output
    assert "2023-05-30T15:00:00Z" in result.output and "zone C (stage2)" in result.output
    result = runner.invoke(app, ["hazard-zones", "--json", str(good)])
    assert result.exit_code == 0 and '"role": "fairing"' in result.output
    bad = tmp_path / "bad.txt"
    bad.write_text(NOTICE.replace("35-19N 124-54E. (FIRST", "35-19N 124-54E (FIRST"))
    result = runner.invoke(app, ["hazard-zones", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4: field 'zone A.corners': open polygon" in result.output
    assert "Traceback" not in result.output
    assert read_notice(good).zones[2].label == "C"
    result = runner.invoke(app, ["hazard-zones", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and "file not found" in result.output


def test_mangled_notices_give_input_errors_and_nothing_else():
    import random

    rng = random.Random(14)
    alphabet = "0123456789NSEW-.,()Z \n°'ABCX\x00é"
    for _ in range(1500):
        text = list(NOTICE)
        for _ in range(rng.randint(1, 8)):
            k = rng.randrange(len(text))
            if rng.random() < 0.4:
                del text[k]
            else:
                text.insert(k, rng.choice(alphabet))
        try:
            notice = parse_notice("".join(text))
        except InputError as exc:
            assert exc.field
        else:
            assert notice.window_end_unix_s > notice.window_start_unix_s and notice.zones
            assert all(z.polygon.is_valid and len(z.corners_deg) >= 3 for z in notice.zones)
