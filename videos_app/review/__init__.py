"""Reviewing videos: favorites, review states and their history, comments, @mentions, compare."""
