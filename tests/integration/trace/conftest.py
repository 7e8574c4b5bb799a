"""Step-trace tests: real tiny-preset steps recorded once per module and profile."""
