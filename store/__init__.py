"""store: IPFS (a client that verifies what it fetches, and an embedded Kubo-RPC-compatible
store)."""
