"""The experts' step: the review queue, decisions (one active per expert and variant, undo keeps the row),
outcomes by majority, settlement into the best variant per badcase, agreement between experts, and label issues
(gold codes flagged as wrong, accepted into a relabelled dataset version or dismissed).
Reads ``variants`` and their verdicts; writes ``reviews``, ``selections`` and ``label_issues``.
"""
