"""The chaos harness (``./run chaos``, issue 12): the whole system under SIGKILLs, broker restarts, database
restarts and replicas, then checked against what must hold. ``run_session`` is its Python API (the acceptance
test calls it); ``plan`` and ``invariants`` are pure and unit-tested."""
