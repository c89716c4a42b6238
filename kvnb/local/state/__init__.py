"""The state on disk: its directory, the SQLite store and schema, secrets, directory, assignments, schedules."""
