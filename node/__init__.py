"""node: the operator daemon (stake, claim, train, upload, commit, answer disputes, get paid)."""
