"""triwarn.sensors: the sensors, their simulation, and the recorded-data files (docs/formats.md).

- definitions: sensor types, the checks of their fields, the sensors.yaml reader
- measurement_reader, truth_reader, writers: measurements.jsonl and truth.jsonl in and out
- jsonl_blocks, line_checks: block streaming and line field checks shared by the readers
- scenario, simulate, radar, infrared, paths, visibility: scenarios and the sensor models
"""
