"""triwarn_eval: evaluation code, not part of the product's runtime.

Scoring against truth and metrics, and synthetic inputs:

    scoring.py    warnings scored against the truth of a simulated flight (lead, delay, false alerts, clears)
    gospa.py      the GOSPA metric for tracks against truth
    synthetic.py  synthetic operator pictures of one launch (the UI's tests, its benchmark, the preview)
    preview.py    the operator UI on a synthetic flight, without a node: `python -m triwarn_eval.preview`

Used by tests, benchmarks and tools, never by the runtime: nothing under triwarn imports triwarn_eval
(tests/test_import_graph.py checks it). It imports triwarn freely.
"""
