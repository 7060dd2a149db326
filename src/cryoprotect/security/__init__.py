"""Security: verification of PostgreSQL Row Level Security."""
