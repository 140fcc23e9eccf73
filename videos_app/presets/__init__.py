"""Starting from what exists: a team's saved presets and a video's "Use these settings"."""
