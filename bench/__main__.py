"""``python -m bench [transforms|hits|uploads|listing|profile|all] [--quick]`` (bench/harness)."""

from bench.harness.cli import main

raise SystemExit(main())
