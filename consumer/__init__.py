"""consumer: verified pulls of finalized checkpoints."""
