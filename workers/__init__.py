"""Background workers: the turn runner and the model providers it calls."""
