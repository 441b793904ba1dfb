"""Relational state: SQLAlchemy 2 models on one Base, Alembic migrations, SQLite or PostgreSQL."""
