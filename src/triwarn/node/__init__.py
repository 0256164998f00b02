"""triwarn.node"""
