"""Takes: several renders of one prompt made at once (different seeds), kept as one group
that the reviewer picks from; the takes not picked are discarded (hidden, never deleted)."""
