"""Experiments that run the library end to end."""
