"""Getting data in: reading JSON/JSONL/CSV/xlsx files, validating records against the task's rules, importing
datasets (all or nothing) and the ICD dictionary, and reading competition files (gold labels, submissions).
Reads files; writes ``datasets``, ``records``, ``codes`` and the audit log.
"""
