"""Graph analyses and passes that run before lowering (backend independent)."""
