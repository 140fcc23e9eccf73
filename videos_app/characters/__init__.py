"""Characters: the people and things a video can bring in by name (writes in ``services``)."""
