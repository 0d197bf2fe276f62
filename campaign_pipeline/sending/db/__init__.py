"""The campaign database: engine, tables and migrations (contract: sending.md)."""
