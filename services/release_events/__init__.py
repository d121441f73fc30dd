"""release_events: accepts release notices from prison healthcare and publishes them through an outbox."""
