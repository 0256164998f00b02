"""triwarn.web"""
