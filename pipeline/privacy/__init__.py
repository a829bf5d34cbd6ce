"""The patient-data gate: finding patient identifiers in text (a table of identifier kinds, ``identifiers.toml``)
and keeping them from models that run outside the hospital (``external = true`` in the models file) — each
identifier is either replaced by a placeholder and put back in the reply, or the call is refused naming the
record, the field and the kind."""
