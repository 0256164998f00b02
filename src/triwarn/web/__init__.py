"""The operator web UI: built assets in static/ (served by triwarn.api.app), sources in src/.

Rebuild after changing src/: `cd src/triwarn/web && npm ci && npm run build`; commit static/.
"""
