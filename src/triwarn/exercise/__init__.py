"""triwarn.exercise"""
