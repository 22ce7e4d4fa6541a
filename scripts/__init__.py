"""Repository scripts (`python -m scripts.lint`, `python scripts/readme_tables.py`)."""
