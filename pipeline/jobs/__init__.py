"""Long work as jobs (docs/jobs.md): a queue in the ``jobs`` table in two lanes (cpu, gpu), race-free
claims, lane workers that run each job in its own process group with a log and a metrics file, heartbeat it
and end a dead job's whole tree, cancel and reconcile. Generic: the jobs are a table of names, handlers and
typed parameters (``table.py``, ``params.py``) that the app supplies, so nothing here knows about models.
Writes ``jobs`` and files under ``SRADIT_DATA_DIR/jobs``.
"""
