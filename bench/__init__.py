"""imgpro's benchmarks (scripts, never tests). ``python -m bench --help`` runs the peer harness."""
