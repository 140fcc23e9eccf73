// The create form: who runs the chosen model, the sizes and durations it allows, the
// optional controls it takes (last frame, negative prompt, seed, sound), and a live cost
// estimate. The routing table comes from the page (json_script #model-routes);
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
  var audio = form.querySelector("select[name=audio]");
  var takes = form.querySelector("select[name=n]");
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

  // As base.size_resolution: "1280x720" -> "720p", "3840x2160" -> "4k".
  function resolution(value) {
    var parts = String(value || "").split("x");
    var short = Math.min(parseInt(parts[0], 10), parseInt(parts[1], 10));
    if (!short) return "*";
    return short >= 2160 ? "4k" : short + "p";
  }

  // As prices.per_second: "<res>+audio", "*+audio" with sound, then "<res>", "*".
  function pricePerSecond(route, sizeValue, sound) {
    var res = sizeValue ? resolution(sizeValue) : "*";
    var keys = [res, "*"];
    if (sound) keys = [res + "+audio", "*+audio"].concat(keys);
    for (var i = 0; i < keys.length; i++) {
      if (Object.prototype.hasOwnProperty.call(route.prices, keys[i])) return route.prices[keys[i]];
    }
    return null;
  }

  // As catalog.Route.sound: as asked, else the model's default.
  function sound(route) {
    var choice = audio && !audio.disabled ? audio.value : "";
    if (choice === "on") return !!route.audio;
    if (choice === "off") return false;
    return !!route.audio;
  }

  // As forms.estimate_text: every take counts.
  function estimateText(route, secs) {
    if (!route || !secs) return "Estimated cost: pick a model and a duration.";
    var price = pricePerSecond(route, size ? size.value : "", sound(route));
    var n = takes ? parseInt(takes.value, 10) || 1 : 1;
    if (price !== null) {
      var each = " s \u00d7 " + usd(units(price)) + "/s)";
      if (n > 1) {
        return "Estimated cost: " + usd(units(price) * secs * n) +
          " (" + n + " takes \u00d7 " + secs + each;
      }
      return "Estimated cost: " + usd(units(price) * secs) + " (" + secs + each;
    }
    return route.local ? "Estimated cost: free \u2014 runs locally" : "Estimated cost: unknown";
  }

  // Offer only what the model allows; move off a choice that became unavailable.
  function restrict(select, allowed) {
    if (!select) return;
    var values = allowed.map(String);
    var current = null;
    Array.prototype.forEach.call(select.options, function (option) {
      option.disabled = values.indexOf(option.value) === -1;
      option.hidden = option.disabled;
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
      // The optional controls this model takes; the others are hidden and not sent.
      Array.prototype.forEach.call(form.querySelectorAll("[data-capability]"), function (box) {
        var takes = !!(route.takes && route.takes[box.getAttribute("data-capability")]);
        box.hidden = !takes;
        Array.prototype.forEach.call(box.querySelectorAll("input, select, textarea"), function (c) {
          c.disabled = !takes;
        });
      });
      if (limits) {
        limits.textContent = "Sizes " + route.sizes.join(", ") +
          " \u00b7 durations " + route.seconds.join(", ") + " s";
      }
    }
    estimate.textContent = estimateText(route, parseInt(seconds.value, 10));
  }

  model.addEventListener("change", update);
  seconds.addEventListener("change", update);
  if (size) size.addEventListener("change", update);
  if (audio) audio.addEventListener("change", update);
  if (takes) takes.addEventListener("change", update);
  update();
})();

// The reference image's preview: the chosen file (or the image the form carries, kept
// from a refused try or taken from another video) in a frame of the chosen size's shape,
// cropped as images.reference_image_sized crops it: it covers the frame, the overflow
// cut evenly from both sides (object-fit: cover, centred). Without Fit an image of
// another size is refused, and this says so before the form is sent.
(function () {
  "use strict";

  var figure = document.getElementById("reference-preview");
  var form = figure && figure.closest("form");
  if (!form) return;
  var frame = figure.querySelector(".reference-preview__frame");
  var img = figure.querySelector("img");
  var note = document.getElementById("reference-preview-note");
  var input = form.querySelector("input[type=file][name=reference_image]");
  var size = form.querySelector("select[name=size]");
  var model = form.querySelector("select[name=model]");
  var fit = form.querySelector("input[name=fit_image]");
  var carried = form.querySelector("[data-reference-source]");
  var keep = form.querySelector("input[name=keep_reference]");
  var MAX_HEIGHT = 240; // px: a portrait frame stays on screen
  var objectUrl = null;
  var source = null; // {width, height, alwaysFit} of the image shown
  var pending = null; // the same, while its image loads

  function times(w, h) {
    return w + "\u00d7" + h;
  }

  function say(text, refused) {
    note.textContent = text;
    note.className = refused ? "error" : "help";
  }

  function render() {
    var parts = size ? size.value.split("x") : [];
    var w = parseInt(parts[0], 10);
    var h = parseInt(parts[1], 10);
    if (!source || !w || !h) {
      figure.hidden = !note.textContent; // an image that would not load still says so
      return;
    }
    figure.hidden = false;
    frame.hidden = false;
    frame.style.aspectRatio = w + " / " + h;
    frame.style.maxWidth = Math.round((MAX_HEIGHT * w) / h) + "px";
    var sw = source.width;
    var sh = source.height;
    var exact = sw === w && sh === h;
    var refused = !exact && !source.alwaysFit && !(fit && fit.checked);
    figure.classList.toggle("reference-preview--refused", refused);
    if (exact) {
      say(times(w, h) + ": exactly the video's size, used as it is.", false);
    } else if (refused) {
      say("This image is " + times(sw, sh) + "; without Fit it must be exactly " + times(w, h) + ".", true);
    } else {
      var cut = sw * h > w * sh ? "its left and right edges cut" :
        sw * h < w * sh ? "its top and bottom cut" : "nothing cut";
      say("Cropped from " + times(sw, sh) + " (" + cut + ") and resized to " + times(w, h) + ".", false);
    }
  }

  img.addEventListener("load", function () {
    if (!pending) return;
    source = {
      width: pending.width || img.naturalWidth,
      height: pending.height || img.naturalHeight,
      alwaysFit: pending.alwaysFit,
    };
    pending = null;
    render();
  });
  img.addEventListener("error", function () {
    if (!pending) return;
    pending = null;
    source = null;
    frame.hidden = true;
    figure.hidden = false;
    say("This file cannot be shown as an image: the studio takes JPEG, PNG or WebP.", true);
  });

  function load(url, width, height, alwaysFit) {
    pending = { width: width, height: height, alwaysFit: alwaysFit };
    source = null;
    note.textContent = "";
    img.src = url;
  }

  function choose() {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    var file = input && input.files && input.files[0];
    if (file) {
      objectUrl = URL.createObjectURL(file); // read here: nothing is uploaded for it
      load(objectUrl, 0, 0, false);
    } else if (carried && (!keep || keep.checked)) {
      // A kept upload's preview is a thumbnail: its data attributes give the real size.
      load(
        carried.currentSrc || carried.src,
        parseInt(carried.getAttribute("data-width"), 10) || 0,
        parseInt(carried.getAttribute("data-height"), 10) || 0,
        carried.hasAttribute("data-always-fit")
      );
    } else {
      pending = null;
      source = null;
      note.textContent = "";
      img.removeAttribute("src");
      render();
    }
  }

  if (carried) carried.hidden = true; // the preview shows it, cropped
  if (input) input.addEventListener("change", choose);
  if (keep) keep.addEventListener("change", choose);
  if (size) size.addEventListener("change", render);
  if (model) model.addEventListener("change", render); // it may move the size
  if (fit) fit.addEventListener("change", render);
  choose();
})();
