"""Models as the tool knows them: the models file (baseline, external LLMs, learners), the registry of trained
models with their lineage (database), the K-fold SFT ensemble's vote, and turning any model name into a
predictor or a learner. Every model picker and ``--model`` flag goes through :mod:`training.models.resolve`.
"""
