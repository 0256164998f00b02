"""The one vocabulary of record types that flow between triwarn's stages.

sensors -> tracking -> sharing -> fusion -> assessment -> warning -> outputs: each stage hands the next
one of these records (tables of parallel arrays for detections and tracks; typed events for the
assessment's launch events, impact predictions and area risks; warning messages as data). They are
defined here once and imported everywhere; a wire message (triwarn.share.schema) or a UI document
(triwarn.api.picture) that wraps one has a name of its own. Parsing happens only at the file and wire
edges: between stages these records pass as they are. Import them from their module:

- detections: RadarDetections, IrDetections, MeasurementLog (columns, one row per detection)
- tracks: track tables (own national tracks, system tracks), modes
- events: LaunchEvent, ImpactPrediction, AreaRisk, TrackObservation; Flag, ObjectRole, TRUSTED_QUALITY
- warnings: WarningMessage, AreaWarning and their states
"""

NATIONS: tuple[str, ...] = ("us", "jp", "kr")
"""The nations of the arrangement (two-letter lower-case codes), the hub first."""
