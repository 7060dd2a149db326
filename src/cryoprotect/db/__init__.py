"""Data layer: schema, engine, migrations, seeding and imports."""
