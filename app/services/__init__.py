"""The service layer: what the CLI and the pages both call to run a step with real models."""
