"""What every service shares. Importing any of it makes the process's Kafka clients refuse to create topics
(``kafka_no_auto_topics``): one place, so no module that makes a client can come first without it."""

from services.common import kafka_no_auto_topics  # noqa: F401 - applied on import
