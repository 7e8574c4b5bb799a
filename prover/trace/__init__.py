"""Step traces for protocol v2 disputes (docs/referee.md "Step trace"): tensor commitments,
the step graph, element programs and their reference evaluator."""
