"""The hostile-input corpus of issue 16: small bad files for every `triwarn` command that reads files.

Each case is (name, what it builds, the expected outcome): "error" (exit 2, a one-line message naming the
file, and the line when there is one) or "skip" (exit 0, the bad lines counted on stderr, good ones kept).
Files are generated into a folder (none is stored: a few are large or repetitive by design).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

T0 = 1_664_835_720.0  # 2022-10-03T22:22:00Z

RADAR = {"id": "kr-1", "nation": "kr", "kind": "radar", "lat_deg": 37.0, "lon_deg": 127.5, "alt_m": 100.0,
         "sigma_range_m": 20.0, "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "revisit_s": 1.0,
         "max_range_m": 1.0e6, "min_el_deg": 0.0, "p_detect": 0.9}
GEO = {"id": "us-geo", "nation": "us", "kind": "ir", "platform": "geo", "sub_lon_deg": 130.0,
       "sigma_los_urad": 60.0, "frame_s": 1.0, "latency_s": 4.0, "p_detect": 0.95}


def radar_line(when: float, **kw) -> str:
    k = min(max(when - T0, 0.0), 100.0)
    rec = {"t": when, "sensor": "kr-1", "range_m": 500_000.0 - 2_000.0 * k, "az_deg": 10.0, "el_deg": 5.0 + 0.1 * k}
    rec.update(kw)
    return json.dumps(rec)


def good_lines(n: int = 60) -> list[str]:
    return [radar_line(T0 + k) for k in range(n)]


def sensors_yaml(entries: list[dict] | None = None) -> str:
    import yaml

    return yaml.safe_dump({"sensors": entries or [RADAR, GEO]}, sort_keys=False)


ALIAS_BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    + ["sensors: [*a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8, *a8]"]) + "\n"


def scenario_yaml(**top) -> str:
    import yaml

    data = {"name": "hostile", "launches": [{"id": "L1", "time_utc": "2022-10-04T07:22:00+09:00",
                                            "lat_deg": 40.6, "lon_deg": 126.4, "azimuth_deg": 90.0,
                                            "apogee_km": 100.0, "range_km": 300.0}],
            "sensors": [RADAR]}
    launch = top.pop("launch", {})
    data["launches"][0].update(launch)
    data.update(top)
    return yaml.safe_dump(data, sort_keys=False)


# ----------------------------------------------------------------------------------- sensors.yaml cases

SENSORS_CASES = {  # name: (text, expected)
    "alias_bomb": (ALIAS_BOMB, "error"),
    "deep_nesting": ("sensors: " + "[" * 5000 + "]" * 5000 + "\n", "error"),
    "big_file": ("# " + "x" * (2 << 20) + "\n" + sensors_yaml(), "error"),
    "lat_out_of_range": (sensors_yaml([RADAR | {"lat_deg": 97.0}]), "error"),
    "lat_nan": (sensors_yaml([RADAR]).replace("lat_deg: 37.0", "lat_deg: .nan"), "error"),
    "revisit_inf": (sensors_yaml([RADAR]).replace("revisit_s: 1.0", "revisit_s: .inf"), "error"),
    "revisit_tiny": (sensors_yaml([RADAR | {"revisit_s": 1e-9}]), "error"),
    "p_detect_7": (sensors_yaml([RADAR | {"p_detect": 7}]), "error"),
    "wrong_type": (sensors_yaml([RADAR | {"lat_deg": "north"}]), "error"),
    "sensors_not_list": ("sensors: 12\n", "error"),
    "not_yaml": ("sensors: [\n", "error"),
    "binary": ("\x00\x01\x02sensors", "error"),
    "empty": ("", "error"),
    "duplicate_id": (sensors_yaml([RADAR, RADAR]), "error"),
    "huge_clutter": (sensors_yaml([RADAR | {"clutter_rate": 1e12}]), "error"),
    "tiny_frame": (sensors_yaml([GEO | {"frame_s": 1e-12}]), "error"),
}


# ----------------------------------------------------------------------------- measurements.jsonl cases

def _reversed() -> str:
    return "\n".join(reversed(good_lines())) + "\n"


def _duplicated() -> str:
    lines = good_lines()
    return "\n".join(line for line in lines for _ in range(2)) + "\n"


def _year_ahead() -> str:
    lines = good_lines()
    lines.insert(10, radar_line(T0 + 365 * 86400.0))
    return "\n".join(lines) + "\n"


def _mixed_bad() -> str:
    lines = good_lines()
    lines[3] = radar_line(T0 + 3, range_m=float("nan"))
    lines[4] = radar_line(T0 + 4, el_deg=float("inf"))
    lines[5] = radar_line(T0 + 5, az_deg="east")
    lines[6] = radar_line(T0 + 6, range_m=-1.0)
    lines[7] = radar_line(T0 + 7, el_deg=1e308)
    lines[8] = radar_line(T0 + 8, t="soon")
    lines[9] = radar_line(T0 + 9, sensor=["kr-1"])
    lines[10] = '{"t": 1e999, "sensor": "kr-1"}'
    lines[11] = "\x00\xff garbage"
    lines[12] = "[]"
    lines[13] = json.dumps({"t": T0 + 13, "sensor": "us-geo", "platform_ecef_m": [4.2e7, 0, 0],
                            "los_ecef": [math.inf, 0, 0]})
    lines[14] = radar_line(T0 + 14, t=True)
    lines[15] = '{"t": ' + "9" * 5000 + ', "sensor": "kr-1"}'
    return "\n".join(lines) + "\n"


MEASUREMENT_CASES = {  # name: (text, expected, a word the summary must hold)
    "reversed": (_reversed, "skip", "60 lines accepted"),
    "duplicated": (_duplicated, "skip", "duplicate"),
    "year_ahead": (_year_ahead, "skip", "dated more than"),
    "mixed_bad": (_mixed_bad, "skip", "skipped"),
    "all_bad": (lambda: "nope\n" * 50, "error", "no valid line"),
    "empty": (lambda: "", "error", "empty"),
    "blank_lines": (lambda: "\n\n\n", "error", "empty"),
    "long_line": (lambda: "\n".join(good_lines(5)) + "\n" + "x" * (3 << 20) + "\n", "error", ":6"),
    "long_unterminated": (lambda: "\n".join(good_lines(5)) + "\n" + " " * (3 << 20), "error", ":6"),
}


# ------------------------------------------------------------------------------------ scenario cases

SCENARIO_CASES = {  # name: (text, expected)
    "alias_bomb": (ALIAS_BOMB.replace("sensors:", "launches:"), "error"),
    "start_1900": (scenario_yaml(start_utc="1900-01-01T00:00:00Z"), "error"),
    "start_year_before": (scenario_yaml(start_utc="2021-10-04T00:00:00Z"), "error"),
    "end_2500": (scenario_yaml(end_utc="2500-01-01T00:00:00Z"), "error"),
    "end_before_start": (scenario_yaml(start_utc="2022-10-04T00:00:00Z", end_utc="2022-10-03T23:00:00Z"),
                         "error"),
    "launch_1900": (scenario_yaml(launch={"time_utc": "1900-01-01T00:00:00Z"}), "error"),
    "launch_year_9999": (scenario_yaml(launch={"time_utc": "9999-12-31T23:59:59+00:00"}), "error"),
    "launch_not_time": (scenario_yaml(launch={"time_utc": 12}), "error"),
    "apogee_negative": (scenario_yaml(launch={"apogee_km": -5}), "error"),
    "apogee_nan": (scenario_yaml().replace("apogee_km: 100.0", "apogee_km: .nan"), "error"),
    "range_huge": (scenario_yaml(launch={"range_km": 1e9}), "error"),
    "salvo_million": (scenario_yaml(launch={"salvo": {"count": 1_000_000, "spacing_s": 1,
                                                      "spread_az_deg": 1, "spread_range_km": 1}}), "error"),
    "truth_dt_tiny": (scenario_yaml(truth_dt_s=1e-9), "error"),
    "launches_string": (scenario_yaml(launches="x"), "error"),
    "not_mapping": ("- 1\n- 2\n", "error"),
    "sensor_bad": (scenario_yaml(sensors=[RADAR | {"p_detect": -1}]), "error"),
}


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path
