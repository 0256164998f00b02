"""Helpers of bench/bench_tracking.py: scenario generation, Stone Soup set-up, scoring against truth."""
