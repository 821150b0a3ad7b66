"""shoplink: recommendation-safe shopping links for AI assistants' answers."""
