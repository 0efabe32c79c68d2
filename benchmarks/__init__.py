"""Load and micro benchmarks (see README.md); run from the repository root."""
