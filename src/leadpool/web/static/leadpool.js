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
  // The server's clock, not the browser's, decides what is late: offset by the difference.
  var serverNow = Date.parse(document.body.dataset.now || "") || Date.now();
  var skew = serverNow - Date.now();
  function tick() {
    var now = Date.now() + skew;
    // Found again each second: a live update may have brought new ones.
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime")) - now;
      el.textContent = fmt(ms);
      el.classList.toggle("late", ms < 0);
      el.classList.toggle("soon", ms >= 0 && ms < 15 * 60 * 1000);
    });
    // A claim button disabled by a limit that passes at a known time comes back by itself.
    document.querySelectorAll("button[data-enable-at]").forEach(function (el) {
      if (Date.parse(el.dataset.enableAt) <= now) {
        el.disabled = false;
        el.removeAttribute("data-enable-at");
      }
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
// Live pages: the [data-live] regions of a page follow GET /live (server-sent events). An offer
// or a pushed lead fetches the page again and swaps in its regions; a lead someone took leaves
// the lists at once. A region holding the focus (a note being typed) is swapped when it is left.
// What changed is said in the #live-status region, which screen readers announce.
(function () {
  if (!window.EventSource || !document.querySelector("[data-live]")) return;
  var status = document.getElementById("live-status");
  function say(text) { if (status && text) status.textContent = text; }
  var busy = false, again = false;
  function swap(el, fresh) {
    if (el.contains(document.activeElement)) {
      el.addEventListener("focusout", function later(e) {
        if (el.contains(e.relatedTarget)) return;
        el.removeEventListener("focusout", later);
        el.replaceWith(fresh);
      });
      return;
    }
    el.replaceWith(fresh);
  }
  function refresh(text) {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.pathname + location.search, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = doc.querySelector('[data-live="' + el.dataset.live + '"]');
          if (fresh) swap(el, document.importNode(fresh, true));
        });
        say(text);
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  function lead(e) { try { return JSON.parse(e.data); } catch (x) { return {}; } }
  // From the newest event the page was drawn with: nothing between drawing it and now is missed.
  var pool = document.body.dataset.livePool;
  var source = new EventSource("/live?after=" + encodeURIComponent(document.body.dataset.liveAfter || "0") +
    (pool ? "&pool=" + encodeURIComponent(pool) : ""));
  source.addEventListener("offer", function (e) {
    refresh("Lead " + lead(e).lead_id + " is offered to you: the first to accept gets it.");
  });
  source.addEventListener("assigned", function (e) { refresh("Lead " + lead(e).lead_id + " was pushed to you."); });
  source.addEventListener("taken", function (e) {
    var id = lead(e).lead_id, gone = document.querySelectorAll('[data-lead="' + id + '"]');
    gone.forEach(function (el) { if (!el.contains(document.activeElement)) el.remove(); });
    if (gone.length) say("Lead " + id + " is no longer available.");
  });
  source.addEventListener("returned", function (e) {
    var d = lead(e);
    refresh("Lead " + d.lead_id + " is back in " + d.pool + ".");
  });
  source.addEventListener("changed", function () { refresh(); });
})();
// After an action the page comes back with what happened: focus lands on that message, so a
// keyboard or screen-reader user hears the result instead of starting again at the top.
(function () {
  var said = document.querySelector("main .flash");
  if (said) said.focus();
})();
// Click-to-call, email and templates: the link opens the phone or mail app, and the page tells
// leadpool at the same time (a beacon survives the page being left), which logs the first touch.
document.addEventListener("click", function (e) {
  var link = e.target.closest && e.target.closest("a[data-touch]");
  var csrf = document.querySelector("input[name=csrf]");
  if (!link || !csrf || !navigator.sendBeacon) return;
  var form = new FormData();
  form.append("csrf", csrf.value);
  form.append("channel", link.dataset.touch);
  navigator.sendBeacon("/leads/" + link.dataset.leadId + "/touch", form);
});
