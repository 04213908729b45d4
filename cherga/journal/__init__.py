"""Where the engine's events are kept, beside the engine (which does no I/O): SQLite with group commit, the
embedded default, and Redis for a region (``docs/redis.md``)."""
