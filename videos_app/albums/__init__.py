"""Collections (hand-picked videos) and saved gallery filters, per team or personal.

Called "albums" in code because a ``collections`` package would shadow the standard
library's inside the app; the pages call them Collections.
"""
