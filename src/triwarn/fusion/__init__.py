"""triwarn.fusion"""
