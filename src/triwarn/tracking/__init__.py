"""triwarn.tracking"""
