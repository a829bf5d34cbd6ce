"""Everything that runs a model: the CPU baseline coder, generation engines, predictors and TCECP, the models
(models file, registry, learners, ensembles), SFT and GRPO with TRL and the paper's rewards, the tiny offline model."""
