"""The `zhiku` command: each subcommand in a module of its own, above the HTTP layer (it may start
the service, or talk to a running one) and beside it (it may do the same work in-process)."""
