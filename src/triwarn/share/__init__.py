"""triwarn.share"""
