"""Contract suites: one module per Protocol, each run on every implementation its registry
names."""
