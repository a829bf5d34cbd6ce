"""The built-in CPU baseline ICD coder: character n-gram TF-IDF, clinical rule features and linear models
that predict a principal code and a set of other codes for a record in the competition format, with no GPU
(``config``: its hyper-parameters and errors; ``features``: normalised text and the numbers read from it;
``rules``: the synonym table, negation, grades and the rule-feature vector; ``selection``: choosing the
other-code set; ``coder``: ``BaselineCoder`` itself, fitting, prediction and persistence)."""
