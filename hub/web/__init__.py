"""The web edge: the FastAPI app, the JSON APIs (records, registry, cubes, lineage) and the mart runtime."""
