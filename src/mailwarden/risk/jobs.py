"""The risk app's periodic jobs (core.tasks.periodic)."""
