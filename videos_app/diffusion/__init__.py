"""Open-weights video models through Hugging Face ``diffusers``: the model side, in a child.

The studio's ``diffusers`` engine (``videos_app.providers.diffusers``) starts
``python -m videos_app.diffusion`` with the GPU venv's interpreter (``.venv-gpu``:
torch, diffusers, transformers; requirements-gpu.txt), keeps it alive between jobs and
talks to it over stdin/stdout. Nothing here imports Django; torch and diffusers are
imported inside functions, so ``families`` (the table, frame counts, sizes, the weights
check) also works in the studio's own venv, without torch.

Modules, each importing only those before it:

- ``families``: the model families and their limits; ``check_weights``;
- ``protocol``: the route's settings, the events, the failures' codes, progress;
- ``pipelines``: loading a route's weights, and the one pipeline kept loaded;
- ``output``: frames to the MP4, thumbnail and spritesheet (the renderer's encoder);
- ``render``: an operation as a pipeline call, its step callback, the run;
- ``__main__``: the child's loop.

The protocol: one JSON object a line, UTF-8. Requests on stdin:

- ``{"op": "run", "id", "route": ROUTE, "job": JobSpec.to_dict() + "video",
  "thumbnail", "spritesheet"}``;
- ``{"op": "cancel", "id"}``: the run ends between two steps (``error`` ``cancelled``);
- ``{"op": "check", "id", "route", "load": bool}`` -> ``checked`` ``ok``, ``missing``,
  ``message``.

ROUTE: ``family``, ``weights`` (a diffusers-format directory), and optionally ``steps``,
``guidance``, ``dtype``, ``cpu_offload``, ``vae_tiling``, ``device`` (auto, cuda, cpu),
``width``/``height``/``fps`` (replace the family's, for tiny test pipelines) and
``simulate`` (tests: ``oom`` or ``hang`` at the first step).

Events on stdout, each with the request's ``id``: ``ready`` once at start (``python``,
``torch``, ``diffusers``, ``cuda``, ``device``, ``pid``; id null); ``stage`` (load,
denoise, decode, encode); ``progress`` (``percent`` 0..99, increasing); ``done``
(``segment_only``, ``frames``, ``fps``, ``width``, ``height``, ``seconds_per_step``,
``timings`` {load, denoise, decode, encode}, ``loads`` (weights loads by this child so
far), ``peak_gpu_bytes``); ``error`` (``code``: weights_missing, gpu_out_of_memory,
cancelled, unsupported_operation, invalid_spec, source_unreadable, render_failed;
``message``). Logs and tracebacks go to stderr.
"""
