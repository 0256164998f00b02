"""A small tabletop exercise written into a temporary folder: no base scenario (the system's side is the
stated detonation), three nations, an observer, four injects, two objectives."""

from __future__ import annotations

from pathlib import Path

import pytest

SCENARIO = """\
name: Test tabletop
exercise: TEST-TTX
t0_utc: "2024-01-15T01:00:00Z"
duration: "30:00"
nations: [us, jp, kr]
observers: [eval]
detonation: {lat_deg: 13.8, lon_deg: 144.4, yield_kt: 300, at: "10:00", wind_to_deg: 120, wind_speed_m_s: 15,
             issuer: us}
"""
OBJECTIVES = """\
objectives:
  - {id: OBJ-1, title: Warn in time, capability: Public Information and Warning, target_latency_s: 120}
  - {id: OBJ-2, title: Coordinate, capability: Operational Coordination}
"""
MSEL = """\
msel:
  - number: 1
    time: "01:00"
    type: information
    to: [us, jp, kr]
    description: Launch reported.
    expected_action: Decide on alerts.
    objective: OBJ-1
  - number: 2
    time: "02:00"
    type: false_report
    from: controller
    to: [kr]
    description: A second missile is reported by the media.
    expected_action: Hold; ask partners.
    objective: OBJ-2
  - number: 3
    time: "05:00"
    type: partner_request
    from: us
    to: [jp]
    description: The US asks for Japan's impact prediction.
    expected_action: Release impact data.
    objective: OBJ-2
  - number: 4
    time: "10:00"
    type: detonation
    to: all
    description: EXERCISE detonation stated.
    expected_action: Shelter in place.
"""
DECISIONS = """\
decisions:
  - {at: "01:30", seat: jp, action: issue_alert, areas: [JP-47], inject: 1, note: "Okinawa at risk"}
  - {at: "01:45", seat: kr, action: hold_alert, areas: [KR-49], inject: 1, note: "Not at risk"}
  - {at: "02:20", seat: kr, action: ask_partner, partner: jp, inject: 2, note: "Do you see it?"}
  - {at: "02:40", seat: kr, action: issue_alert, nation: jp, areas: [JP-47], note: "acting for Japan"}
  - {at: "05:30", seat: jp, action: release_data, partner: us, data: impact, inject: 3, note: "sent"}
  - {at: "06:00", seat: us, action: release_data, partner: kr, data: track, note: "beyond policy"}
  - {at: "08:00", seat: jp, action: cancel, note: "passed"}
  - {at: "12:00", seat: us, action: answer_inject, inject: 4, note: "Shelter issued"}
  - {at: "29:00", seat: controller, action: improvement, issue: "Media report reached KR first",
     corrective_action: "Shared media watch", capability: "Situational Assessment", responsible: kr,
     due: "2027-06-30"}
  - {at: "29:30", seat: controller, action: rate, objective: OBJ-2, rating: S, note: "late answer"}
"""


def write_tabletop(folder: Path, *, scenario: str = SCENARIO, msel: str = MSEL, objectives: str = OBJECTIVES,
                   decisions: str = DECISIONS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenario.yaml").write_text(scenario)
    (folder / "msel.yaml").write_text(msel)
    (folder / "objectives.yaml").write_text(objectives)
    (folder / "decisions.yaml").write_text(decisions)
    return folder / "scenario.yaml"


@pytest.fixture
def tabletop(tmp_path) -> Path:
    """The scenario.yaml of the small exercise (msel.yaml, objectives.yaml, decisions.yaml beside it)."""
    return write_tabletop(tmp_path / "ttx")
