// The create form: who runs the chosen model, the sizes and durations it allows, and a
// live cost estimate. The routing table comes from the page (json_script #model-routes);
// the server validates everything again, so this is only a guide.
(function () {
  "use strict";

  var data = document.getElementById("model-routes");
  var form = data && data.closest("form");
  if (!form) return;
  var routes = JSON.parse(data.textContent);
  var model = form.querySelector("select[name=model]");
  var size = form.querySelector("select[name=size]");
  var seconds = form.querySelector("select[name=seconds]");
  var provider = document.getElementById("route-provider");
  var limits = document.getElementById("route-limits");
  var estimate = document.getElementById("cost-estimate");
  if (!model || !seconds || !estimate) return;

  // Money in ten-thousandths of a dollar (the prices' 4 decimal places): exact integers.
  function units(price) {
    var parts = String(price).split(".");
    var frac = ((parts[1] || "") + "0000").slice(0, 4);
    return parseInt(parts[0], 10) * 10000 + parseInt(frac, 10);
  }

  // As catalog.format_usd: cents, unless a sub-dollar amount has digits below a cent.
  function usd(n) {
    if (n % 100 === 0 || n >= 10000) {
      var cents = Math.round(n / 100);
      return "$" + (cents / 100).toLocaleString("en-US", {
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
      });
    }
    return "$" + (n / 10000).toFixed(4).replace(/0+$/, "");
  }

  function priceText(route) {
    if (route.price !== null) return usd(units(route.price)) + "/s";
    return route.local ? "free" : "price unknown";
  }

  // As catalog.estimate_text.
  function estimateText(route, secs) {
    if (!route || !secs) return "Estimated cost: pick a model and a duration.";
    if (route.price !== null) {
      return "Estimated cost: " + usd(units(route.price) * secs) +
        " (" + secs + " s \u00d7 " + priceText(route) + ")";
    }
    return route.local ? "Estimated cost: free \u2014 runs locally" : "Estimated cost: unknown";
  }

  // Disable what the model does not allow; move off a choice that became disabled.
  function restrict(select, allowed) {
    if (!select) return;
    var values = allowed.map(String);
    var current = null;
    Array.prototype.forEach.call(select.options, function (option) {
      option.disabled = values.indexOf(option.value) === -1;
      if (!option.disabled && current === null) current = option;
    });
    var chosen = select.options[select.selectedIndex];
    if (chosen && chosen.disabled && current) select.value = current.value;
  }

  function update() {
    var route = routes[model.value];
    if (route) {
      restrict(size, route.sizes);
      restrict(seconds, route.seconds);
      if (provider) provider.textContent = route.provider;
      if (limits) {
        limits.textContent = "Sizes " + route.sizes.join(", ") +
          " \u00b7 durations " + route.seconds.join(", ") + " s";
      }
    }
    estimate.textContent = estimateText(route, parseInt(seconds.value, 10));
  }

  model.addEventListener("change", update);
  seconds.addEventListener("change", update);
  update();
})();
