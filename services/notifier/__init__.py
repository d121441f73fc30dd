"""notifier: delivers handover messages to agencies as signed webhooks, durably, and reports outcomes."""
