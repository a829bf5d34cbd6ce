"""The demo data: a seeded generator of synthetic discharge records (the project's own text, never the real
records) and the demo database built from it. Writes a whole database: records, accounts and, through
the services, each feature's state. The generator's output is pinned for a seed: the tiny model's
tokenizer is trained on it.
"""
