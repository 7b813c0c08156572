"""Page tests run on the shared app fixtures (SQLite, and PostgreSQL when reachable); the
test-sized Argon2 costs come from tests/conftest.py."""
