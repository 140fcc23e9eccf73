// Compare: one set of controls drives two to four players in step.
// The leader (the longest video, the first of equals) keeps the clock and the sound;
// while playing, a follower that drifts more than DRIFT seconds from it is brought back
// (by its playback rate when near, by a seek when far).
(function () {
  "use strict";
  var DRIFT = 0.05;
  var JUMP = 0.15;
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
    var tenths = Math.round(t * 10);
    var m = Math.floor(tenths / 600);
    var s = Math.floor((tenths % 600) / 10);
    return m + ":" + (s < 10 ? "0" : "") + s + "." + (tenths % 10);
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
        started.catch(function () {
          // Sound was refused (no user gesture): play muted rather than not at all.
          p.muted = true;
          p.play().catch(function () {});
        });
      }
    });
    requestAnimationFrame(tick);
  }

  function pauseAll() {
    playing = false;
    setPlayingUi(false);
    players.forEach(function (p) {
      p.pause();
      p.playbackRate = 1;
    });
    // Line them up exactly where the leader stopped.
    seekAll(leader.currentTime);
  }

  function tick() {
    if (!playing) return;
    var t = leader.currentTime;
    players.forEach(function (p) {
      if (p === leader || p.seeking) return;
      var d = duration(p);
      if (d && t >= d) return; // a shorter video has ended: it waits on its last frame
      var behind = t - p.currentTime;
      var off = Math.abs(behind);
      if (off > JUMP) {
        // Far off: jump, aiming where the leader will be once the seek lands (learned
        // from past seeks).
        p.playbackRate = 1;
        p.seekStartedAt = performance.now();
        p.currentTime = Math.min(t + (p.seekLag || 0), d || t);
      } else if (off > DRIFT) {
        // A little off: catch up by playing faster or slower for a moment; a seek would
        // stall the decoder and drift further on a busy machine.
        p.playbackRate = 1 + Math.max(-0.5, Math.min(0.5, behind * 4));
      } else if (off < DRIFT / 2 && p.playbackRate !== 1) {
        p.playbackRate = 1;
      }
      if (p.paused && !p.ended) p.play().catch(function () {});
    });
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
    p.addEventListener("seeked", function () {
      if (!playing || !p.seekStartedAt) return;
      var took = (performance.now() - p.seekStartedAt) / 1000;
      p.seekStartedAt = 0;
      p.seekLag = Math.min(0.1, 0.5 * (p.seekLag || 0) + 0.5 * took);
    });
    p.addEventListener("ended", function () {
      if (p === leader) pauseAll();
    });
    p.addEventListener("timeupdate", function () {
      if (p === leader && !playing) showTime();
    });
  });
  pickLeader();

  // Space or k plays and pauses, arrows step a second, unless typing in a field.
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (/^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(tag) || event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === " " || event.key === "k") {
      event.preventDefault();
      playButton.click();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      var step = event.key === "ArrowLeft" ? -1 : 1;
      seekAll(Math.max(0, Math.min(duration(leader), leader.currentTime + step)));
    }
  });
})();
