"""The graph: model, normalisation, the store contract, its backends and bulk loading."""
