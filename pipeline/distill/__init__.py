"""CoT distillation (the paper's CoT-distilled SFT): a teacher LLM, shown a labelled record together with its gold
diagnoses, writes the clinical reasoning that leads from the record's evidence to them; the checked traces become
the ``<think>`` part of SFT targets for learners that ask for them (``cotd = true``). It is its own subpackage,
not a stage of the loop: it reads a dataset's labelled records and feeds training, whichever round made them.
Reads ``datasets`` and ``records``; writes ``reasoning_traces`` (one row per record, sub-task, teacher and
prompt version) and the audit log. The teacher comes in through :class:`pipeline.protocols.TextGenerator`.
"""
