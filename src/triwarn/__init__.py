"""triwarn: real-time missile-warning data sharing among the United States, Japan and Korea.

It tracks, shares, fuses, assesses and warns. It never engages.
"""

__version__ = "0.1.0"
