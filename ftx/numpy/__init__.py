"""ftx.numpy: NumPy's API on ftx arrays (filled in below)."""
