"""triwarn.warn"""
