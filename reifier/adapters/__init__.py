"""Adapters: one outside library or resource each, around the pure core."""
