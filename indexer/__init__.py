"""The indexer stage (``stage``): enriched posts from the bus into the search store."""
