"""Public checks and item tables, one module per assignment; shipped to students."""
