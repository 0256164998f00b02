"""triwarn.sensors"""
