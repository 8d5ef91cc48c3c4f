"""Stage 3, record: the course gradebook (SQLite or PostgreSQL), merged into under a lock."""
