"""The warehouse: the one way to open it (SQLite or PostgreSQL), migrate it (Alembic,
`migrations/`), lock it, and write rows in bulk."""
