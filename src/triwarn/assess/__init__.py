"""triwarn.assess"""
