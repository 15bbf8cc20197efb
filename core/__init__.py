"""Code shared by the ingestion worker and the service: settings, catalog, stores, embedder."""
