/* The gallery's selection bar: how many videos are ticked, Compare enabled for 2 to 4
   finished ones, Download zip and Add to / Remove from collection for one or more and
   Share link for finished ones (the server checks again). Also: drops empty and default
   filters from the filter bar's htmx requests, so pushed URLs stay short; keeps the
   (phone) Filters summary's count in step with the results; keeps a tick on a card the
   progress poll replaces; and, in "My favorites", refreshes the results when a card is
   taken out of the favorites. */
(function () {
  "use strict";

  var BOXES = 'input[name="v"][form="gallery-selection"]';

  function update() {
    var ticked = document.querySelectorAll(BOXES + ":checked");
    var picked = ticked.length;
    var unfinished = document.querySelectorAll(BOXES + "[data-unfinished]:checked").length;
    var count = document.getElementById("selection-count");
    var comparable = picked >= 2 && picked <= 4 && !unfinished;
    var hint = picked === 1 ? " \u2014 tick one more to compare"
      : picked > 4 ? " \u2014 compare takes 2 to 4"
      : unfinished ? " \u2014 only finished videos compare" : "";
    if (count) count.textContent = picked ? picked + " selected" + hint : "";
    var compare = document.querySelector("[data-compare]");
    if (compare) {
      compare.disabled = !comparable;
      compare.title = comparable ? "" : "Tick 2 to 4 finished videos to compare them";
    }
    var zip = document.querySelector("[data-export]");
    if (zip) zip.disabled = picked < 1;
    // Add to / remove from a collection (albums/).
    document.querySelectorAll("[data-needs-pick]").forEach(function (button) {
      button.disabled = picked < 1;
    });
    var share = document.querySelector("[data-share]");
    if (share) {
      share.disabled = picked < 1 || unfinished > 0;
      share.title = unfinished ? "Only finished videos can be shared" : "";
    }
  }

  // The Filters summary (folded on a phone) sits outside the swapped results.
  function showFilterCount() {
    var results = document.getElementById("gallery-results");
    var summary = document.getElementById("filters-summary");
    if (!results || !summary) return;
    var n = Number(results.getAttribute("data-active-filters")) || 0;
    summary.textContent = "Filters" + (n ? " \u00b7 " + n + " set" : "");
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('input[name="v"]')) update();
  });
  document.addEventListener("htmx:afterSettle", function () {
    showFilterCount();
    update();
  });
  update();

  // The progress poll replaces a running card (out of band) as it finishes: keep its tick.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var old = event.detail.target;
    var box = old && old.querySelector && old.querySelector(BOXES);
    if (!box || !box.checked || !event.detail.fragment) return;
    var fresh = event.detail.fragment.querySelector(BOXES);
    if (fresh) fresh.checked = true;
  });

  // Leave out what the gallery assumes anyway: empty fields, and a menu left at its first
  // choice when that is not "any" (the sort: newest first).
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.target.closest && event.target.closest("#gallery-filters");
    if (!form) return;
    var params = event.detail.parameters;
    var drop = [];
    params.forEach(function (value, key) {
      var menu = form.querySelector('select[name="' + key + '"]');
      var first = menu && !menu.multiple && menu.options.length ? menu.options[0].value : "";
      if (value === "" || value === first) drop.push(key);
    });
    drop.forEach(function (key) { params.delete(key); });
  });

  // "My favorites": a card taken out of them leaves, and the results (with their count)
  // are fetched again.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.elt;
    if (!event.detail.shouldSwap || !form || !form.matches || !form.matches("#gallery-grid form.fav")) return;
    var only = new URLSearchParams(location.search).get("favorites");
    if (!only || /^(0|false|off)$/i.test(only)) return;
    if (/aria-pressed="true"/.test(event.detail.serverResponse || "")) return;
    event.detail.shouldSwap = false;
    var card = form.closest("article.card");
    if (card) card.remove();
    update();
    if (window.htmx) {
      window.htmx.ajax("GET", location.pathname + location.search, {
        target: "#gallery-results", swap: "outerHTML",
      });
    }
  });
})();
