"""The human-in-the-loop service: the only layer that pages call."""
