"""The round, the loop's central object: its typed configuration (config), the one lookup and its typed handle
(lookup), typed per-stage results (results), the state machine with its model-backed stages injected (driver), what a
stage writes (lifecycle), the report (report) and the figures per round (dashboard). Reads every stage's tables;
writes ``rounds``, ``datasets`` and the round's link on ``jobs``.
"""
