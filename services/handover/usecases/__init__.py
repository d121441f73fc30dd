"""The handover use cases: one job each, over a unit of work."""
