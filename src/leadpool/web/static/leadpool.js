// SLA countdowns: every <time class="countdown" datetime="..."> counts down to its instant, once a
// second. The server renders the same text first, so the page reads right without this file.
(function () {
  function fmt(ms) {
    var late = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    var text = d ? d + " d " + h + " h" : h ? h + " h " + String(m).padStart(2, "0") + " min"
      : m ? m + " min " + String(r).padStart(2, "0") + " s" : r + " s";
    return late ? text + " overdue" : text + " left";
  }
  var nodes = document.querySelectorAll("time.countdown[datetime]");
  if (!nodes.length) return;
  // The server's clock, not the browser's, decides what is late: offset by the difference.
  var serverNow = Date.parse(document.body.dataset.now || "") || Date.now();
  var skew = serverNow - Date.now();
  function tick() {
    var now = Date.now() + skew;
    nodes.forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime")) - now;
      el.textContent = fmt(ms);
      el.classList.toggle("late", ms < 0);
      el.classList.toggle("soon", ms >= 0 && ms < 15 * 60 * 1000);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
// Review queue: one box that ticks or clears every item's box.
(function () {
  var all = document.querySelector("input[data-check-all]");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll("input[name=" + all.dataset.checkAll + "]").forEach(function (box) { box.checked = all.checked; });
  });
})();
