"""The embedded backend: SQLite rows and case log, and a compact in-memory index."""
