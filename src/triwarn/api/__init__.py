"""triwarn.api"""
