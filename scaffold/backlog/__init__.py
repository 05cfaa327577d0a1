"""Backlog.md on disk: the writer that matches the CLI byte for byte, its lock and the sync."""
