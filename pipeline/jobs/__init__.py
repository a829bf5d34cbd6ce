"""Long work as jobs (DESIGN.md, "Long work"): a queue in the ``jobs`` table, claims under the write lock, a
worker process per job in its own process group with a log and a metrics file, cancel and reconcile.
Generic: handlers are ``"module:function"`` names that ``app.services`` supplies, so nothing here knows
about models. Writes ``jobs`` and files under ``SRADIT_DATA_DIR/jobs``.
"""
