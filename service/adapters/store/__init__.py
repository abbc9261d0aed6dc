"""The SQL store: SQLite by default, PostgreSQL for replicas."""
