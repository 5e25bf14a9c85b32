"""Quotes: a price from a rate source, recorded and locked for a window."""
