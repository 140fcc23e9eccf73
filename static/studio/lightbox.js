/* The gallery's lightbox: a click on a finished video's thumbnail plays it in a <dialog>
   instead of opening its page (the link still works without JS, and with a modifier key
   or a middle click). Keys: left / right arrow for the previous / next video of the grid,
   Space to play or pause, Esc to close (the dialog's own). Focus goes to the dialog
   and back to the thumbnail it was opened from. */
(function () {
  "use strict";
  var dialog = document.getElementById("lightbox");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var video = dialog.querySelector("video");
  var title = dialog.querySelector(".lightbox__title");
  var openLink = dialog.querySelector(".lightbox__open");
  var position = dialog.querySelector(".lightbox__position");
  var index = -1;
  var opener = null;

  function items() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#gallery-grid .card__media[data-video]")
    );
  }

  function show(i) {
    var all = items();
    if (!all.length) return;
    index = (i + all.length) % all.length;
    var media = all[index];
    opener = media;
    video.src = media.dataset.video;
    title.textContent = media.dataset.title || "Video";
    openLink.href = media.getAttribute("href");
    position.textContent = index + 1 + " / " + all.length;
    dialog.dataset.index = String(index);
    var playing = video.play();
    if (playing && playing.catch) playing.catch(function () {}); // autoplay may be refused
  }

  function toggle() {
    if (video.paused) {
      var playing = video.play();
      if (playing && playing.catch) playing.catch(function () {});
    } else {
      video.pause();
    }
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var media = event.target.closest && event.target.closest("#gallery-grid .card__media[data-video]");
    if (!media) return;
    event.preventDefault();
    show(items().indexOf(media));
    dialog.showModal();
    dialog.focus();
  });

  dialog.addEventListener("click", function (event) {
    var action = event.target.closest && event.target.closest("[data-lightbox]");
    if (action) {
      var name = action.dataset.lightbox;
      if (name === "close") dialog.close();
      else show(index + (name === "next" ? 1 : -1));
      return;
    }
    // A click on the backdrop (outside the dialog's box) closes it.
    var rect = dialog.getBoundingClientRect();
    var outside = event.clientX < rect.left || event.clientX > rect.right ||
      event.clientY < rect.top || event.clientY > rect.bottom;
    if (event.target === dialog && outside) dialog.close();
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault(); // not a seek in the player: the next video
      show(index + (event.key === "ArrowRight" ? 1 : -1));
    } else if (event.key === " " || event.key === "Spacebar") {
      var target = event.target;
      // A focused player and a focused button handle Space themselves.
      if (target === video || (target.closest && target.closest("button, a"))) return;
      event.preventDefault();
      toggle();
    }
  });

  dialog.addEventListener("close", function () {
    video.pause();
    video.removeAttribute("src");
    video.load();
    delete dialog.dataset.index;
    if (opener && document.contains(opener)) opener.focus();
  });
})();
