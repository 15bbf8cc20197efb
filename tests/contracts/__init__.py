"""Contract suites: what every implementation of a Protocol must do, run on each one."""
