"""Generation engines and where each public model name runs.

``registry.py`` lists the engine kinds (and says how to add one); ``base.py`` is the
seam every engine implements; ``catalog.py`` reads the routing tables (``Provider``,
``ModelRoute`` in ``models.py``) and builds the engine of a provider by name.

Nothing here imports Django at module level: the local renderer's child process is
started as ``python -m videos_app.renderer`` and loads ``base.py`` (its job spec).
"""
