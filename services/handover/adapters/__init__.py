"""The handover adapters: tables, repositories, units of work (SQL)."""
