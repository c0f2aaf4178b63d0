"""Stream positions, sync tokens and the notifier that wakes waiting clients."""
