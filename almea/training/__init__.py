"""Training: the honest link split, the trainer and checkpoints."""
