"""The task's vocabulary: EMR records, ICD codes, the label space, the metric, parsers, prompts, synonyms and
clinical facts. Pure functions and tables: it reads and writes nothing (no database, no files), and every
other stage builds on it.
"""
