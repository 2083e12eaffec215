"""Campaigns: the driver, executors (local processes or Ray actors) and progress."""
