"""A test-only app that plugs itself in the way every mailwarden app does (see test_plugins)."""
