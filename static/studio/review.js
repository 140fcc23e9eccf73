// A video's page: notes on the player's timeline, comment times that seek (and play a
// range, pausing at its out), the comment box's in and out filled from the player, and
// the editor's keys (J/K/L, "," and ".", I/O, C, ?). Works on sections htmx swaps in later:
// the notes are read from the comments' data-* attributes each time they change.
// Frames: frame i covers [i/fps, (i+1)/fps); notes are stored at a frame's start.
(function () {
  "use strict";

  var SPEEDS_MAX = 8; // J and L double the speed up to this

  function player() {
    return document.getElementById("player");
  }

  function fps() {
    var wrap = document.getElementById("player-wrap");
    return (wrap && Number(wrap.dataset.fps)) || 24;
  }

  // The frame the picture shows at the playhead; the allowance covers times stored to
  // the millisecond, which may fall a hair before their frame's start.
  function frameOf(t) {
    return Math.floor(t * fps() + 0.02);
  }

  function frameCount(video) {
    var wrap = document.getElementById("player-wrap");
    var duration = isFinite(video.duration) && video.duration > 0 ? video.duration : Number(wrap && wrap.dataset.duration) || 0;
    return Math.max(1, Math.round(duration * fps()));
  }

  function duration(video) {
    return frameCount(video) / fps();
  }

  // Seek to a frame: a quarter into it, so the decoder cannot land on the one before.
  function seekFrame(video, frame) {
    frame = Math.min(Math.max(frame, 0), frameCount(video));
    video.currentTime = Math.min((frame + 0.25) / fps(), video.duration || Infinity);
  }

  function frameSeconds(frame) {
    return (frame / fps()).toFixed(3);
  }

  function fmt(t) {
    return window.studioMoment(t, document.getElementById("comments"));
  }

  // The notes on this page, from the comment section.
  function notes() {
    return Array.prototype.map.call(document.querySelectorAll("#comments [data-note]"), function (el) {
      return {
        id: el.dataset.note,
        at: Number(el.dataset.at),
        out: el.dataset.out === undefined ? null : Number(el.dataset.out),
        resolved: el.hasAttribute("data-resolved"),
        drawing: el.dataset.drawing || "",
        author: el.dataset.author || "",
        element: el,
      };
    });
  }

  // Playing a range: stop at its out, checked every animation frame (timeupdate comes
  // only four times a second, a range may be shorter).
  var rangeOut = null;

  function watchRange() {
    var video = player();
    if (rangeOut === null || !video) return;
    if (video.paused) {
      rangeOut = null;
      return;
    }
    if (video.currentTime >= rangeOut) {
      video.pause();
      seekFrame(video, Math.round(rangeOut * fps()));
      rangeOut = null;
      return;
    }
    window.requestAnimationFrame(watchRange);
  }

  function play(at, out) {
    var video = player();
    if (!video) return;
    stopShuttle(video);
    seekFrame(video, Math.round(at * fps()));
    if (out === null || !(out > at)) {
      rangeOut = null;
      video.pause();
      return;
    }
    rangeOut = out;
    var started = video.play();
    if (started && started.then) started.then(watchRange, function () { rangeOut = null; });
    else watchRange();
  }

  // The timeline under the player: a dot per moment, a span per range; resolved ones dim.
  function drawMarkers() {
    var video = player();
    var bar = document.getElementById("notes-bar");
    var track = document.getElementById("notes-track");
    if (!video || !bar || !track) return;
    var length = duration(video);
    var list = notes();
    track.replaceChildren();
    list.forEach(function (note) {
      var marker = document.createElement("button");
      marker.type = "button";
      marker.className = "notes-bar__note" + (note.out !== null ? " notes-bar__note--range" : "") + (note.resolved ? " notes-bar__note--resolved" : "") + (note.drawing ? " notes-bar__note--drawn" : "");
      marker.dataset.noteId = note.id;
      var left = Math.min(note.at / length, 1) * 100;
      marker.style.left = left + "%";
      if (note.out !== null) marker.style.width = Math.max(Math.min(note.out / length, 1) * 100 - left, 0) + "%";
      var label = (note.out !== null ? fmt(note.at) + "–" + fmt(note.out) : fmt(note.at)) + (note.author ? " · " + note.author : "") + (note.resolved ? " (resolved)" : "");
      marker.title = label;
      marker.setAttribute("aria-label", "Note at " + label);
      track.appendChild(marker);
    });
    bar.hidden = list.length === 0;
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target;
    if (!target) return;
    var marker = target.closest(".notes-bar__note");
    if (marker) {
      var note = notes().filter(function (n) { return n.id === marker.dataset.noteId; })[0];
      if (!note) return;
      // Its comment is marked in the list (the player stays in view; no scrolling).
      document.querySelectorAll(".comment--current").forEach(function (el) { el.classList.remove("comment--current"); });
      note.element.classList.add("comment--current");
      play(note.at, note.out);
      return;
    }
    // Comment times: a link to the file at #t=... without JavaScript; a seek with it.
    var link = target.closest("[data-seek]");
    var video = player();
    if (!link || !video) return;
    event.preventDefault();
    var out = link.hasAttribute("data-seek-out") ? Number(link.getAttribute("data-seek-out")) : null;
    play(Number(link.getAttribute("data-seek")), out);
    video.scrollIntoView({ block: "nearest", behavior: "smooth" });
    video.focus({ preventScroll: true });
  });

  // J/K/L: J plays backwards by stepping (a video element cannot play in reverse), L
  // forwards; pressed again, each doubles its speed; K stops both.
  var shuttle = 0; // < 0 backwards, > 0 forwards, the speed
  var reverseFrom = null;

  function stopShuttle(video) {
    shuttle = 0;
    reverseFrom = null;
    video.playbackRate = 1;
  }

  function stepBack(stamp) {
    var video = player();
    if (!video || shuttle >= 0) return;
    if (reverseFrom !== null && !video.seeking) {
      var t = video.currentTime + (shuttle * (stamp - reverseFrom)) / 1000;
      if (t <= 0) {
        video.currentTime = 0;
        stopShuttle(video);
        return;
      }
      video.currentTime = t;
    }
    if (!video.seeking) reverseFrom = stamp;
    window.requestAnimationFrame(stepBack);
  }

  function shuttleBy(video, direction) {
    rangeOut = null;
    if (direction > 0) {
      shuttle = shuttle > 0 && !video.paused ? Math.min(shuttle * 2, SPEEDS_MAX) : 1;
      video.playbackRate = shuttle;
      video.play();
      return;
    }
    video.pause();
    var wasReversing = shuttle < 0;
    shuttle = wasReversing ? Math.max(shuttle * 2, -SPEEDS_MAX) : -1;
    video.playbackRate = 1;
    if (!wasReversing) {
      reverseFrom = null;
      window.requestAnimationFrame(stepBack);
    }
  }

  function step(video, by) {
    video.pause();
    stopShuttle(video);
    rangeOut = null;
    seekFrame(video, frameOf(video.currentTime) + by);
  }

  function field(id) {
    return document.getElementById(id);
  }

  // I and O: the note's in and out at the playhead's frame (never past the video's end).
  function setPoint(video, id) {
    var box = field("comment-at-now");
    if (box) box.checked = false;
    var input = field(id);
    if (!input) return;
    input.value = frameSeconds(Math.min(frameOf(video.currentTime), frameCount(video)));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function commentHere(video) {
    video.pause();
    stopShuttle(video);
    var at = field("comment-at");
    if (at && !at.value) setPoint(video, "comment-at");
    var body = field("comment-body");
    if (body) {
      body.focus();
      body.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  function toggleHelp() {
    var help = document.getElementById("keys-help");
    if (help) help.open = !help.open;
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    if (target.closest("textarea, select, [contenteditable=''], [contenteditable=true]")) return true;
    var input = target.closest("input");
    return Boolean(input) && !/^(checkbox|radio|button|submit|reset|range)$/.test(input.type);
  }

  var KEYS = {
    j: function (v) { shuttleBy(v, -1); },
    k: function (v) { v.pause(); stopShuttle(v); rangeOut = null; },
    l: function (v) { shuttleBy(v, 1); },
    ",": function (v) { step(v, -1); },
    ".": function (v) { step(v, 1); },
    i: function (v) { setPoint(v, "comment-at"); },
    o: function (v) { setPoint(v, "comment-out"); },
    c: commentHere,
    "?": toggleHelp,
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var video = player();
    var action = KEYS[event.key.length === 1 ? event.key.toLowerCase() : ""];
    if (!video || !action) return;
    event.preventDefault(); // "c" must not type itself into the box it focuses
    action(video);
  });

  // "At the player's current time": the in follows the playhead's frame.
  function syncAt() {
    var box = field("comment-at-now");
    var input = field("comment-at");
    var video = player();
    if (!box || !input || !video || !box.checked) return;
    input.value = frameSeconds(Math.min(frameOf(video.currentTime), frameCount(video)));
  }

  function labelAt() {
    var box = field("comment-at-now");
    var video = player();
    if (!box || !video) return;
    box.parentNode.lastChild.textContent = " At the player's current time (" + fmt(video.currentTime) + ")";
  }

  function setUp() {
    var video = player();
    var label = document.querySelector("[data-at-now]");
    if (label && video) label.hidden = false;
    var tools = document.querySelector("[data-player-tools]");
    if (tools && video) tools.hidden = false;
    labelAt();
    drawMarkers();
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "comment-at-now") {
      var input = field("comment-at");
      if (event.target.checked) syncAt();
      else if (input) input.value = "";
    }
  });
  // Capture: before htmx reads the form's values.
  document.addEventListener("submit", syncAt, true);
  ["timeupdate", "seeked"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.target === player()) {
        syncAt();
        labelAt();
      }
    }, true);
  });
  document.addEventListener("loadedmetadata", function (event) {
    if (event.target === player()) drawMarkers();
  }, true);
  document.addEventListener("htmx:afterSettle", setUp);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();

  // For draw.js: the same frame grid and the same notes.
  window.studioNotes = { fps: fps, frameOf: frameOf, frameCount: frameCount, notes: notes, player: player };
})();
