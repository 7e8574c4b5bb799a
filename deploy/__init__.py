"""deploy: devnet (anvil + embedded store), deployment to any RPC, and the end-to-end demo."""
