"""The domain of SRADIT Studio and the data flow of its loop, one subpackage per stage, in loop order.

``domain`` (records, codes, metric, prompts: no database) → ``ingest`` (files in) → ``mining`` (badcases)
→ ``augment`` (rewrites and the filter chain) → ``review`` (experts decide) → ``export`` (training sets
out) → ``rounds`` (one pass of the loop, and its figures). ``jobs``, ``accounts`` and ``demo`` support the
stages; the modules at this level are shared plumbing (settings, errors, protocols, database, audit).
``pipeline`` imports ``db`` only: models reach it through :mod:`pipeline.protocols`.
"""
