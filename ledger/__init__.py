"""ledger: chain access (contract bindings from Foundry artifacts, transactions, reverts,
events)."""
