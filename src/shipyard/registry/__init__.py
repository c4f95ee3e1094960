"""The model registry: saved models with signatures and lineage, evaluation, promotion."""
