/* The gallery's selection bar: how many videos are ticked, Compare enabled for 2 to 4 of
   them and Download zip for one or more (the server checks again). Also drops empty
   filters from the filter bar's htmx requests, so pushed URLs stay short. */
(function () {
  "use strict";

  function update() {
    var picked = document.querySelectorAll('input[name="v"][form="gallery-selection"]:checked').length;
    var count = document.getElementById("selection-count");
    var comparable = picked >= 2 && picked <= 4;
    var hint = picked === 1 ? " \u2014 tick one more to compare"
      : picked > 4 ? " \u2014 compare takes 2 to 4" : "";
    if (count) count.textContent = picked ? picked + " selected" + hint : "";
    var compare = document.querySelector("[data-compare]");
    if (compare) {
      compare.disabled = !comparable;
      compare.title = comparable ? "" : "Tick 2 to 4 finished videos to compare them";
    }
    var zip = document.querySelector("[data-export]");
    if (zip) zip.disabled = picked < 1;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('input[name="v"]')) update();
  });
  document.addEventListener("htmx:afterSettle", update);
  update();

  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.target.closest || !event.target.closest("#gallery-filters")) return;
    var params = event.detail.parameters;
    var empty = [];
    params.forEach(function (value, key) { if (value === "") empty.push(key); });
    empty.forEach(function (key) { params.delete(key); });
  });
})();
