/* Hover-scrub on gallery thumbnails: the pointer's x (or a finger's) over a thumbnail
   picks one tile of the video's spritesheet, shown with background-position.
   The renderer lays a spritesheet out as a grid of data-sprite-cols x data-sprite-rows
   tiles, row-major, tile i showing time (i + 0.5) / tiles of the video (docs/renderer.md).
   The sheet is fetched on the first hover only. Listeners sit on the document, so cards
   swapped in by htmx scrub too. */
(function () {
  "use strict";

  function grid(media) {
    return {
      cols: Math.max(1, parseInt(media.dataset.spriteCols, 10) || 5),
      rows: Math.max(1, parseInt(media.dataset.spriteRows, 10) || 5),
    };
  }

  function tileAt(media, clientX) {
    var rect = media.getBoundingClientRect();
    var g = grid(media);
    var tiles = g.cols * g.rows;
    if (rect.width <= 0) return 0;
    var x = Math.min(Math.max(clientX - rect.left, 0), rect.width - 0.001);
    return Math.min(tiles - 1, Math.floor((x / rect.width) * tiles));
  }

  function show(media, clientX) {
    var scrub = media.querySelector(".card__scrub");
    if (!scrub) return;
    var g = grid(media);
    if (!scrub.dataset.loaded) {
      scrub.style.backgroundImage = 'url("' + media.dataset.sprite + '")';
      scrub.style.backgroundSize = g.cols * 100 + "% " + g.rows * 100 + "%";
      scrub.dataset.loaded = "1";
    }
    var tile = tileAt(media, clientX);
    var col = tile % g.cols;
    var row = Math.floor(tile / g.cols);
    // With the sheet scaled to cols x rows boxes, p% puts the sheet's p% point on the box's.
    var px = g.cols > 1 ? (col / (g.cols - 1)) * 100 : 0;
    var py = g.rows > 1 ? (row / (g.rows - 1)) * 100 : 0;
    scrub.style.backgroundPosition = px + "% " + py + "%";
    scrub.hidden = false;
    media.dataset.frame = String(tile);
  }

  function hide(media) {
    var scrub = media.querySelector(".card__scrub");
    if (scrub) scrub.hidden = true;
    delete media.dataset.frame;
  }

  function mediaOf(target) {
    return target && target.closest ? target.closest(".card__media[data-sprite]") : null;
  }

  document.addEventListener("pointermove", function (event) {
    var media = mediaOf(event.target);
    if (media) show(media, event.clientX);
  }, { passive: true });

  document.addEventListener("pointerout", function (event) {
    var media = mediaOf(event.target);
    if (media && !media.contains(event.relatedTarget)) hide(media);
  }, { passive: true });

  document.addEventListener("touchmove", function (event) {
    var media = mediaOf(event.target);
    if (media && event.touches.length) show(media, event.touches[0].clientX);
  }, { passive: true });

  document.addEventListener("touchend", function (event) {
    var media = mediaOf(event.target);
    if (media) hide(media);
  }, { passive: true });
})();
