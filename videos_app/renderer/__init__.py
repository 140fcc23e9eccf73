"""The local renderer: a procedural engine run as ``python -m videos_app.renderer SPEC``.

It is a procedural renderer, not an AI model: words of the prompt pick a sky palette,
the ground, the floating objects and the motion (see docs/renderer.md). Same spec, same
frames. ``videos_app.providers.local`` starts it in a child process and watches it; the
spec is the providers' ``JobSpec``, written to a file as JSON (see ``spec``).

Nothing here imports Django: the child is a fresh interpreter that loads only this
package and ``videos_app.providers.base``. Modules import one way only, each from those
before it in this list:

- ``spec``: the spec file read back, the renderer's limits, its errors, shared constants;
- ``prompt``: the prompt's words to a ``Style``;
- ``scene``: colour conversion and the parallax landscape;
- ``sprites``: small blended pictures and the floating objects;
- ``text``: the caption and the label;
- ``backgrounds``: the scene panned or zoomed, or a still picture drifting;
- ``encode``: the MP4's streams, the thumbnail and the spritesheet;
- ``sound``: the soundtrack;
- ``characters``: the cast, walking across the scene;
- ``segments``: a drawn stretch of video (background, objects, characters, overlays);
- ``create``: a create or a remix;
- ``source``: reading a source video (frames at given times, its sound);
- ``extend``: a source continued by a new segment;
- ``edit``: effects applied to a source;
- ``__main__``: the command line (progress lines, exit statuses, parent death).

To add an operation: a module after ``source`` with its ``render_<operation>(spec, files,
progress)``, its name in ``spec.OPERATIONS`` (and its bounds in ``spec.check``), and a
branch in ``__main__.run``.
"""
