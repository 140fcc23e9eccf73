// A moment of a video as the user reads it (their preference, on an element's
// data-time-format and data-fps): "0:05.2" (m:ss.t) or timecode "00:00:05:05"
// (hh:mm:ss:ff). The server's twin is videos_app.review.selectors.format_seconds.
window.studioMoment = function (t, element) {
  "use strict";
  var pad = function (n) {
    return (n < 10 ? "0" : "") + n;
  };
  if (element && element.dataset.timeFormat === "timecode") {
    var fps = Number(element.dataset.fps) || 24;
    var frames = Math.round(t * fps);
    var secs = Math.floor(frames / fps);
    return [Math.floor(secs / 3600), Math.floor(secs / 60) % 60, secs % 60, frames % fps].map(pad).join(":");
  }
  var tenths = Math.round(t * 10);
  var m = Math.floor(tenths / 600);
  var s = Math.floor((tenths % 600) / 10);
  return m + ":" + pad(s) + "." + (tenths % 10);
};
