"""Hostile-input test helpers: loopback HTTP servers with scripted replies (see ``server``)."""
