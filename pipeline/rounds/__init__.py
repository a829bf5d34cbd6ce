"""Rounds as first-class objects: their stages and stored configuration, the filter-only approval of
non-interactive rounds, merging approved variants into a new dataset version, and the figures the home
page draws per round. Reads every stage's tables; writes ``rounds`` and ``datasets``.
"""
