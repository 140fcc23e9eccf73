"""Version stacks: a video and what was derived from it, plus videos added by hand."""
