"""The Neo4j backend: queries, the store, GDS projections and the offline import set."""
