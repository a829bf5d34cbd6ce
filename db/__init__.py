"""Persistence: SQLAlchemy models, the engine factory, sessions and Alembic migrations."""
