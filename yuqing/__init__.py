"""yuqing core: the small shared package every stage builds on.

Holds the message schemas, settings, the clock, the bus (SQLite log or Kafka), the search store
(SQLite FTS5 or Elasticsearch), the relational database (SQLite or PostgreSQL), the worker base
class, the pipeline topology and the ``yuqing`` command line.
"""

__version__ = "0.1.0"
