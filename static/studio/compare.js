// Compare: one set of controls drives two to four players in step.
// The leader (the longest video, the first of equals) keeps the clock and the sound;
// while playing, a follower that drifts more than DRIFT seconds from it is brought back
// (by its playback rate when near, by a seek when far).
(function () {
  "use strict";
  var DRIFT = 0.05;
  var JUMP = 0.1;
  var root = document.getElementById("compare");
  if (!root) return;
  var players = Array.prototype.slice.call(root.querySelectorAll("[data-compare-player]"));
  var controls = document.getElementById("compare-controls");
  var playButton = document.getElementById("compare-play");
  var seek = document.getElementById("compare-seek");
  var clock = document.getElementById("compare-time");
  if (!players.length || !controls) return;

  var leader = players[0];
  var playing = false;
  var scrubbing = false;
  var holding = false; // everyone paused while one of them seeks or starves
  var holdSince = 0;
  var HOLD_MAX_MS = 3000;

  players.forEach(function (p) {
    p.controls = false; // our controls replace theirs (they stay without JavaScript)
    p.muted = true;
  });
  controls.hidden = false;

  function duration(p) {
    return isFinite(p.duration) ? p.duration : 0;
  }

  function pickLeader() {
    var best = players[0];
    players.forEach(function (p) {
      if (duration(p) > duration(best) + 0.01) best = p;
    });
    if (best !== leader) {
      leader = best;
    }
    players.forEach(function (p) {
      p.muted = p !== leader;
    });
    seek.max = String(duration(leader) || seek.max);
    showTime();
  }

  function fmt(t) {
    return window.studioMoment(t, root);
  }

  function showTime() {
    var t = leader.currentTime;
    if (!scrubbing) seek.value = String(t);
    clock.textContent = fmt(t) + " / " + fmt(duration(leader) || Number(seek.max));
  }

  function setPlayingUi(on) {
    root.classList.toggle("compare--playing", on);
    playButton.setAttribute("aria-label", on ? "Pause all" : "Play all");
    playButton.querySelector(".compare__play-label").textContent = on ? "Pause" : "Play";
  }

  function seekAll(t) {
    players.forEach(function (p) {
      var d = duration(p);
      p.currentTime = d ? Math.min(t, d) : t;
    });
    showTime();
  }

  function playAll() {
    if (leader.ended || leader.currentTime >= duration(leader) - 0.05) seekAll(0);
    playing = true;
    setPlayingUi(true);
    players.forEach(function (p) {
      var started = p.play();
      if (started && started.catch) {
        started.catch(function (error) {
          // Sound was refused (no user gesture): play muted rather than not at all.
          // (An AbortError only means a pause came first: nothing to do.)
          if (!error || error.name !== "NotAllowedError" || !playing) return;
          p.muted = true;
          p.play().catch(function () {});
        });
      }
    });
    requestAnimationFrame(tick);
  }

  function pauseAll() {
    playing = false;
    holding = false;
    setPlayingUi(false);
    players.forEach(function (p) {
      p.pause();
      p.playbackRate = 1;
    });
    // Line them up exactly where the leader stopped.
    seekAll(leader.currentTime);
  }

  // A player that cannot play on right now: seeking, or waiting for data or frames.
  function stalled(p) {
    if (p.seeking) return true;
    if (p.ended) return false;
    // Playing needs frames ahead (HAVE_FUTURE_DATA); a paused one, the current frame.
    return p.readyState < (p.paused ? 2 : 3);
  }

  function running(p, t) {
    var d = duration(p);
    return !(d && t >= d); // a shorter video that has ended waits on its last frame
  }

  function tick() {
    if (!playing) return;
    var t = leader.currentTime;
    var waiting = stalled(leader);
    players.forEach(function (p) {
      if (p === leader || !running(p, t)) return;
      if (stalled(p)) {
        waiting = true;
        return;
      }
      var behind = t - p.currentTime;
      var off = Math.abs(behind);
      if (off > JUMP) {
        // Far off: jump there, and hold the others until it has landed.
        p.playbackRate = 1;
        p.currentTime = t;
        waiting = true;
      } else if (off > DRIFT) {
        // A little off: catch up by playing faster or slower for a moment (a seek
        // would stall the decoder and lose more time on a busy machine).
        p.playbackRate = 1 + Math.max(-0.5, Math.min(0.5, behind * 8));
      } else if (off < DRIFT / 2 && p.playbackRate !== 1) {
        p.playbackRate = 1;
      }
    });
    // Never hold for ever: after HOLD_MAX_MS they go on regardless.
    if (holding && performance.now() - holdSince > HOLD_MAX_MS) waiting = false;
    if (waiting && !holding) {
      // Someone is seeking or starved (a busy machine): everyone waits for it, so
      // nobody runs ahead; they go on together once it is ready.
      holding = true;
      holdSince = performance.now();
      players.forEach(function (p) {
        p.pause();
      });
    } else if (!waiting && holding) {
      holding = false;
    }
    if (!holding) {
      players.forEach(function (p) {
        if (p.paused && running(p, t)) p.play().catch(function () {});
      });
    }
    showTime();
    requestAnimationFrame(tick);
  }

  playButton.addEventListener("click", function () {
    if (playing) pauseAll();
    else playAll();
  });
  seek.addEventListener("input", function () {
    scrubbing = true;
    seekAll(Number(seek.value));
  });
  seek.addEventListener("change", function () {
    scrubbing = false;
    seekAll(Number(seek.value));
  });
  players.forEach(function (p) {
    p.addEventListener("loadedmetadata", pickLeader);
    p.addEventListener("ended", function () {
      if (p === leader) pauseAll();
    });
    p.addEventListener("timeupdate", function () {
      if (p === leader && !playing) showTime();
    });
  });
  pickLeader();

  // Space or k plays and pauses, arrows step a second, unless typing in a field. A
  // focused button keeps Space and Enter (they press it); the seek bar's arrows step a
  // second too (its own step is a hundredth).
  var PRESSABLE_INPUTS = /^(checkbox|radio|button|submit|reset|image|color|file)$/;

  function typing(target) {
    if (!target || target.isContentEditable) return true;
    var tag = target.tagName || "";
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && target.type !== "range" && !PRESSABLE_INPUTS.test(target.type);
  }

  function pressable(target) {
    var tag = (target && target.tagName) || "";
    return tag === "BUTTON" || tag === "SUMMARY" || (tag === "INPUT" && PRESSABLE_INPUTS.test(target.type));
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (typing(target) || event.metaKey || event.ctrlKey || event.altKey) return;
    var key = event.key;
    if ((key === " " || key === "Enter") && pressable(target)) return;
    var step = { ArrowLeft: -1, ArrowRight: 1 }[key];
    if (target === seek && !step) step = { ArrowDown: -1, ArrowUp: 1 }[key];
    if (key === " " || key === "k" || key === "K") {
      event.preventDefault();
      playButton.click();
    } else if (step) {
      event.preventDefault();
      seekAll(Math.max(0, Math.min(duration(leader), leader.currentTime + step)));
    }
  });
})();
