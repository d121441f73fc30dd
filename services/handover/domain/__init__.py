"""The handover rules: pure functions over plain data, no I/O."""
