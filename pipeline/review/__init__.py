"""The experts' step: the review queue, decisions (one active per expert and variant, undo keeps the row),
outcomes by majority, settlement into the best variant per badcase, and agreement between experts.
Reads ``variants`` and their verdicts; writes ``reviews`` and ``selections``.
"""
