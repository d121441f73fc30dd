"""How the world reaches handover: HTTP routes and event consumers."""
