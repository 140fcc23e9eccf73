// Drawings on a paused frame: "Draw" over the player makes arrows, rectangles, lines and
// free-hand strokes in a few colours (undo, clear), kept in the comment form as JSON
// shapes in 0-1 frame coordinates (the server checks them: videos_app/review/notes.py).
// A note's drawing is shown over the player while playback is at its moment (the half
// second after it) or inside its range. The layer covers the picture itself, the video's
// displayed rectangle less its letterboxing, and follows it when the player is resized.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  // The palette of notes.COLORS, by name.
  var COLORS = { red: "#ff453a", yellow: "#ffd60a", green: "#30d158", blue: "#0a84ff", white: "#ffffff" };
  var MAX_POINTS = 400; // a free-hand stroke's points, as notes.SHAPE_POINTS allows
  var MAX_TOTAL = 2000; // and a drawing's (notes.MAX_POINTS)
  var MAX_SHAPES = 40; // notes.MAX_SHAPES
  var MIN_STEP = 0.004; // a stroke's points at least this far apart (of the frame's width)
  var STROKE = 3;

  var mode = { on: false, kind: "arrow", color: "red", shapes: [], current: null };

  function api() {
    return window.studioNotes;
  }

  function layer() {
    return document.getElementById("drawing-layer");
  }

  function field() {
    return document.getElementById("comment-drawing");
  }

  // The picture's rectangle inside the video element (which letterboxes it), in the
  // element's own offset coordinates.
  function pictureRect(video) {
    var boxW = video.clientWidth;
    var boxH = video.clientHeight;
    var picW = video.videoWidth || Number(video.getAttribute("width")) || boxW;
    var picH = video.videoHeight || Number(video.getAttribute("height")) || boxH;
    var scale = Math.min(boxW / picW, boxH / picH) || 0;
    var w = picW * scale;
    var h = picH * scale;
    return { left: video.offsetLeft + (boxW - w) / 2, top: video.offsetTop + (boxH - h) / 2, width: w, height: h };
  }

  function place(svg, video) {
    var rect = pictureRect(video);
    svg.style.left = rect.left + "px";
    svg.style.top = rect.top + "px";
    svg.style.width = rect.width + "px";
    svg.style.height = rect.height + "px";
    svg.setAttribute("viewBox", "0 0 " + rect.width + " " + rect.height);
    return rect;
  }

  function node(name, attrs) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) { el.setAttribute(key, attrs[key]); });
    return el;
  }

  // One shape in pixels: an arrow's head is drawn in pixels too, so it keeps its angle
  // whatever the picture's aspect.
  function shapeNode(shape, w, h) {
    var pts = shape.points.map(function (p) { return [p[0] * w, p[1] * h]; });
    var style = { stroke: COLORS[shape.color] || COLORS.red, "stroke-width": STROKE, fill: "none", "stroke-linecap": "round", "stroke-linejoin": "round" };
    var a = pts[0];
    var b = pts[pts.length - 1];
    var d;
    if (shape.kind === "rect") {
      return node("rect", Object.assign({ x: Math.min(a[0], b[0]), y: Math.min(a[1], b[1]), width: Math.abs(b[0] - a[0]), height: Math.abs(b[1] - a[1]) }, style));
    }
    if (shape.kind === "pen") {
      return node("polyline", Object.assign({ points: pts.map(function (p) { return p.join(","); }).join(" ") }, style));
    }
    d = "M" + a.join(",") + "L" + b.join(",");
    if (shape.kind === "arrow") {
      var angle = Math.atan2(b[1] - a[1], b[0] - a[0]);
      var head = Math.max(10, Math.min(w, h) * 0.04);
      [-0.45, 0.45].forEach(function (turn) {
        d += "M" + b.join(",") + "L" + [b[0] - head * Math.cos(angle + turn), b[1] - head * Math.sin(angle + turn)].join(",");
      });
    }
    return node("path", Object.assign({ d: d }, style));
  }

  function parse(text) {
    try {
      var shapes = JSON.parse(text || "[]");
      return Array.isArray(shapes) ? shapes : [];
    } catch (e) {
      return [];
    }
  }

  // The drawings to show now: the one being made, else those of the notes at the playhead.
  function visible(video) {
    if (mode.on) return [{ shapes: mode.current ? mode.shapes.concat([mode.current]) : mode.shapes, dim: false }];
    var notes = api();
    var frame = notes.frameOf(video.currentTime);
    var hold = Math.round(notes.fps() / 2);
    return notes.notes().filter(function (note) {
      if (!note.drawing) return false;
      var first = Math.round(note.at * notes.fps());
      var last = note.out !== null ? Math.round(note.out * notes.fps()) : first + hold;
      return frame >= first && frame < Math.max(last, first + 1);
    }).map(function (note) {
      return { shapes: parse(note.drawing), dim: note.resolved };
    });
  }

  function render() {
    var svg = layer();
    var video = api() && api().player();
    if (!svg || !video) return;
    var drawings = visible(video);
    if (!drawings.length) {
      svg.setAttribute("hidden", "");
      svg.replaceChildren();
      return;
    }
    svg.removeAttribute("hidden");
    var rect = place(svg, video);
    svg.replaceChildren();
    drawings.forEach(function (drawing) {
      var group = node("g", drawing.dim ? { class: "drawing-layer__dim" } : {});
      drawing.shapes.forEach(function (shape) {
        if (shape && shape.points && shape.points.length) group.appendChild(shapeNode(shape, rect.width, rect.height));
      });
      svg.appendChild(group);
    });
  }

  // During playback: once per presented frame where the browser says so, else per paint.
  function follow() {
    var video = api() && api().player();
    if (!video || video.paused) return;
    render();
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(follow);
    else window.requestAnimationFrame(follow);
  }

  function save() {
    var input = field();
    if (input) input.value = mode.shapes.length ? JSON.stringify(mode.shapes) : "";
    mark();
  }

  function mark() {
    var input = field();
    var badge = document.getElementById("comment-drawn");
    if (badge) badge.hidden = !(input && input.value);
  }

  function pressed(selector, value, attr) {
    document.querySelectorAll(selector).forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute(attr) === value));
    });
  }

  function start() {
    var video = api().player();
    if (!video) return;
    video.pause();
    var notes = api();
    // The drawing belongs to this frame: the comment's in is set to it.
    var at = document.getElementById("comment-at");
    var box = document.getElementById("comment-at-now");
    if (box) box.checked = false;
    if (at) at.value = (notes.frameOf(video.currentTime) / notes.fps()).toFixed(3);
    mode.on = true;
    mode.shapes = parse(field() && field().value);
    video.controls = false; // they would cover the frame's lower part while drawing
    layer().classList.add("drawing-layer--active");
    document.getElementById("draw-bar").hidden = false;
    document.getElementById("draw-start").hidden = true;
    render();
  }

  function stop() {
    if (!mode.on) return;
    mode.on = false;
    mode.current = null;
    var video = api().player();
    if (video) video.controls = true;
    layer().classList.remove("drawing-layer--active");
    var bar = document.getElementById("draw-bar");
    if (bar) bar.hidden = true;
    var button = document.getElementById("draw-start");
    if (button) button.hidden = false;
    render();
  }

  function pointAt(event) {
    var rect = layer().getBoundingClientRect();
    var clamp = function (v) { return Math.round(Math.min(Math.max(v, 0), 1) * 10000) / 10000; };
    return [clamp((event.clientX - rect.left) / rect.width), clamp((event.clientY - rect.top) / rect.height)];
  }

  document.addEventListener("pointerdown", function (event) {
    if (!mode.on || event.target.closest("#drawing-layer") === null) return;
    event.preventDefault();
    if (mode.shapes.length >= MAX_SHAPES || pointsSoFar() + 2 > MAX_TOTAL) return;
    layer().setPointerCapture(event.pointerId);
    var p = pointAt(event);
    mode.current = { kind: mode.kind, color: mode.color, points: [p, p] };
    if (mode.kind === "pen") mode.current.points = [p];
    render();
  });

  document.addEventListener("pointermove", function (event) {
    if (!mode.on || !mode.current) return;
    var p = pointAt(event);
    var pts = mode.current.points;
    if (mode.kind === "pen") {
      var last = pts[pts.length - 1];
      if (pts.length >= MAX_POINTS || pointsSoFar() + pts.length >= MAX_TOTAL) return;
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP) return;
      pts.push(p);
    } else {
      pts[1] = p;
    }
    render();
  });

  function pointsSoFar() {
    return mode.shapes.reduce(function (sum, shape) { return sum + shape.points.length; }, 0);
  }

  function finish() {
    var shape = mode.current;
    mode.current = null;
    if (!shape) return;
    var a = shape.points[0];
    var b = shape.points[shape.points.length - 1];
    if (shape.points.length >= 2 && (shape.kind === "pen" || Math.hypot(b[0] - a[0], b[1] - a[1]) > 0.005)) {
      mode.shapes.push(shape);
      save();
    }
    render();
  }

  document.addEventListener("pointerup", function () { if (mode.on) finish(); });
  document.addEventListener("pointercancel", function () { if (mode.on) finish(); });

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("#draw-start, #draw-done, #draw-undo, #draw-clear, [data-draw-kind], [data-draw-color]");
    if (!target) return;
    if (target.id === "draw-start") start();
    else if (target.id === "draw-done") {
      stop();
      var body = document.getElementById("comment-body");
      if (body) body.focus();
    } else if (target.id === "draw-undo") {
      mode.shapes.pop();
      save();
      render();
    } else if (target.id === "draw-clear") {
      mode.shapes = [];
      save();
      render();
    } else if (target.dataset.drawKind) {
      mode.kind = target.dataset.drawKind;
      pressed("[data-draw-kind]", mode.kind, "data-draw-kind");
    } else if (target.dataset.drawColor) {
      mode.color = target.dataset.drawColor;
      pressed("[data-draw-color]", mode.color, "data-draw-color");
    }
  });

  // Playing again ends drawing (the shapes stay with the comment).
  document.addEventListener("play", function (event) {
    if (api() && event.target === api().player()) {
      stop();
      follow();
    }
  }, true);
  ["seeked", "timeupdate", "pause", "loadedmetadata"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (api() && event.target === api().player()) render();
    }, true);
  });

  // The layer follows the picture when the player (or the window) is resized.
  var observed = null;
  var resizes = window.ResizeObserver ? new ResizeObserver(render) : null;
  if (!resizes) window.addEventListener("resize", render);

  function setUp() {
    var video = api() && api().player();
    if (resizes && video && video !== observed) {
      if (observed) resizes.unobserve(observed);
      resizes.observe(video);
      observed = video;
    }
    if (mode.on && !field()) stop();
    if (mode.on) mode.shapes = parse(field().value);
    mark();
    render();
  }

  document.addEventListener("htmx:afterSettle", setUp);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
