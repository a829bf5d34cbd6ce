"""Getting data in: reading JSON/JSONL/CSV/xlsx files, validating records against the task's rules, importing
datasets (all or nothing) and the ICD dictionary, reading competition files (gold labels, submissions), and dataset
versions (copies of a version, a relabelled one, the newest of a lineage).
Reads files; writes ``datasets``, ``records``, ``codes`` and the audit log.
"""
