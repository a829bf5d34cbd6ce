"""Training sets out: the round's dataset plus its approved variants, as a versioned export in the formats
trainers read (TRL SFT/GRPO, LLaMA-Factory, verl, competition, prompts). Reads ``records``,
``selections`` and ``reviews``; writes files and a ``dataset_exports`` row with their checksum.
"""
