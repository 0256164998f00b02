"""Every first-alert row says why sharing gained what it did (report, summary.json, replay summary)."""

from __future__ import annotations

from triwarn.exercise.metrics import first_alert_table, gain_reason
from triwarn.exercise.replay import gain_rows


def _alerts(t_by_area):
    return {"jp": {"I1": {a: {"first_shelter_unix_s": t, "first_notice_unix_s": None} for a, t in t_by_area.items()}}}


def test_reasons_name_earlier_same_step_alone_only_and_shared_only():
    assert gain_reason(100.0, 130.0).startswith("earlier with sharing")
    assert gain_reason(100.0, 100.0).startswith("0 s")
    assert gain_reason(130.0, 100.0).startswith("later with sharing")
    assert "needless" in gain_reason(None, 100.0, on_path=False)
    assert "never put under shelter" in gain_reason(None, 100.0, on_path=True)
    assert gain_reason(100.0, None).startswith("with sharing only")
    assert gain_reason(None, None) == "no shelter alert in either run"


def test_report_and_replay_rows_carry_the_reason():
    shared, alone = _alerts({"JP-01": 100.0, "JP-02": 120.0}), _alerts({"JP-01": 130.0, "JP-03": 90.0})
    passages = [{"area": "JP-01", "enter_unix_s": 300.0}, {"area": "JP-02", "enter_unix_s": 320.0}]
    rows = {r["area"]: r for r in first_alert_table(shared, alone, passages)}
    assert rows["JP-01"]["gain_s"] == 30.0 and rows["JP-01"]["gain_reason"].startswith("earlier")
    assert "needless" in rows["JP-03"]["gain_reason"]  # alone only, and the truth never crossed it
    assert rows["JP-02"]["gain_reason"].startswith("with sharing only")
    replay_rows = {r["area"]: r for r in gain_rows(shared, alone)}
    assert replay_rows["JP-01"]["gain_reason"].startswith("earlier")
    assert replay_rows["JP-03"]["gain_reason"].startswith("alone only")
