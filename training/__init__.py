"""Everything that runs a model: the CPU baseline coder, generation engines, predictors, SFT/GRPO, jobs."""
