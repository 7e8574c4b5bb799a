"""The `veritrain` command line: one app, command groups registered by each package's ``cli``."""
