// A video's page: comment timestamps seek the player; "At the player's current time"
// fills the comment's moment from the player. Works on sections htmx swaps in later.
(function () {
  "use strict";

  function player() {
    return document.getElementById("player");
  }

  function fmt(t) {
    return window.studioMoment(t, document.getElementById("comments"));
  }

  // Timestamps: a link to the file at #t=... without JavaScript; a seek with it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-seek]");
    var video = player();
    if (!link || !video) return;
    event.preventDefault();
    video.currentTime = Number(link.getAttribute("data-seek"));
    video.scrollIntoView({ block: "nearest", behavior: "smooth" });
    video.focus({ preventScroll: true });
  });

  function syncAt() {
    var box = document.getElementById("comment-at-now");
    var field = document.getElementById("comment-at");
    var video = player();
    if (!box || !field || !video || !box.checked) return;
    // The file may run a few hundredths past the nominal length: stay inside it.
    var most = Number(field.max) || Infinity;
    field.value = Math.min(Math.round(video.currentTime * 10) / 10, most).toFixed(1);
  }

  function labelAt() {
    var box = document.getElementById("comment-at-now");
    var video = player();
    if (!box || !video) return;
    box.parentNode.lastChild.textContent = " At the player's current time (" + fmt(video.currentTime) + ")";
  }

  function setUp() {
    var label = document.querySelector("[data-at-now]");
    if (label && player()) label.hidden = false;
    labelAt();
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "comment-at-now") {
      var field = document.getElementById("comment-at");
      if (event.target.checked) syncAt();
      else if (field) field.value = "";
    }
  });
  // Capture: before htmx reads the form's values.
  document.addEventListener("submit", syncAt, true);
  document.addEventListener("timeupdate", function (event) {
    if (event.target === player()) {
      syncAt();
      labelAt();
    }
  }, true);
  document.addEventListener("seeked", function (event) {
    if (event.target === player()) {
      syncAt();
      labelAt();
    }
  }, true);
  document.addEventListener("htmx:afterSettle", setUp);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
