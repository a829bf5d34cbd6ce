"""The domain of SRADIT Studio: records, ICD codes, the metric, parsers and the data flow."""
