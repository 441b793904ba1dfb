"""Real engines for the live test suites, started on free loopback ports from what the registries serve:
PostgreSQL (started by .ci/run), Apache Kafka (KRaft) and Elasticsearch 9 from their Maven Central jars."""
