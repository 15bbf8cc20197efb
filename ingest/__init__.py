"""The ingestion worker and its pipeline: load → split → embed → store."""
