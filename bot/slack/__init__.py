"""The Slack edge: Bolt listeners (thin), Block Kit builders (pure) and the app runner."""
