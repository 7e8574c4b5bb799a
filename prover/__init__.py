"""prover: the verifiable computation (spec, data schedule, KD step, state hash, Merkle, replay).
No chain or network code."""
