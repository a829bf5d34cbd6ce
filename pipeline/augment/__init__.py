"""Augmenting badcases: rewrite generators (rules, or an LLM through a text generator) make N label-preserving
variants of each badcase, then the filter chain judges every variant and ranks the survivors for review.
Reads ``badcases`` and ``records``; writes ``variants`` and ``variant_verdicts``.
"""
