"""The transforms: interpreters that read the primitives' rule tables."""
