// Ticks the 24-hour window countdown the server rendered; the page works without it.
(function () {
  "use strict";
  var el = document.getElementById("window-countdown");
  if (!el) return;
  var until = Date.parse(el.getAttribute("data-until"));
  if (isNaN(until)) return;
  function tick() {
    var left = until - Date.now();
    if (left <= 0) { el.textContent = "now: reload to send the reopen template"; return; }
    var h = Math.floor(left / 3600000), m = Math.max(1, Math.floor((left % 3600000) / 60000));
    el.textContent = h > 0 ? h + " h " + (m < 10 ? "0" : "") + m + " min" : m + " min";
    setTimeout(tick, 30000);
  }
  tick();
})();
