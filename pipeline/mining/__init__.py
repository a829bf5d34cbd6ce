"""Finding badcases (paper §2.1, BDA): stratified folds, out-of-fold predictions from a learner, and the records
whose predictions miss their gold codes. Reads ``records``; writes ``rounds``, ``model_runs``,
``predictions`` and ``badcases``. Models come in through :mod:`pipeline.protocols`.
"""
