/* Console behaviour without a build step: live countdowns, board updates pushed by SSE (polling as the
   fallback), cue for new 重大 alerts, the few controls that need script (bound here, never inline). */
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function formatRemaining(ms) {
    var late = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var text = h + ":" + pad(m) + ":" + pad(sec);
    return late ? "超时 " + text : "剩余 " + text;
  }

  function tickClocks() {
    var now = Date.now();
    document.querySelectorAll(".clock[data-due]").forEach(function (el) {
      if (el.classList.contains("done")) { return; }
      var start = Date.parse(el.dataset.start), due = Date.parse(el.dataset.due);
      if (isNaN(start) || isNaN(due)) { return; }
      var fraction = due > start ? (now - start) / (due - start) : 1;
      el.classList.toggle("p50", fraction >= 0.5 && fraction < 0.75);
      el.classList.toggle("p75", fraction >= 0.75 && fraction < 1);
      el.classList.toggle("p100", fraction >= 1);
      var remain = el.querySelector(".remain");
      if (remain) { remain.textContent = formatRemaining(due - now); }
      var bar = el.querySelector(".bar span");
      if (bar) { bar.style.width = Math.max(0, Math.min(100, fraction * 100)).toFixed(1) + "%"; }
    });
  }

  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.6);
    } catch (e) { /* no audio: the banner is the cue */ }
  }

  function majorIds(root) {
    var ids = [];
    root.querySelectorAll("tr[data-alert-id][data-major='1']").forEach(function (tr) { ids.push(tr.dataset.alertId); });
    return ids;
  }

  function startBoard(board) {
    var url = board.dataset.fragment, every = Number(board.dataset.poll || 10) * 1000;
    var body = board.querySelector("tbody"), live = document.getElementById("live"), banner = document.getElementById("banner-major");
    var known = {}, version = board.dataset.version || "";
    majorIds(board).forEach(function (id) { known[id] = true; });
    function refresh() {
      fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected && r.url.indexOf("/login") >= 0) { window.location.reload(); throw new Error("logged out"); }
          if (!r.ok) { throw new Error(String(r.status)); }
          version = r.headers.get("X-Alerts-Version") || version;
          return r.text();
        })
        .then(function (html) {
          body.innerHTML = html;
          var fresh = majorIds(board).filter(function (id) { return !known[id]; });
          fresh.forEach(function (id) {
            known[id] = true;
            var tr = board.querySelector("tr[data-alert-id='" + id + "']");
            if (tr) { tr.classList.add("is-new"); }
          });
          if (fresh.length && banner) {
            banner.textContent = "新的重大预警 " + fresh.length + " 条，请立即处置";
            banner.classList.add("show");
            beep();
          }
          if (live) { live.classList.remove("stale"); live.textContent = "实时 · " + new Date().toLocaleTimeString("zh-CN"); }
          var count = document.getElementById("board-count");
          if (count) { count.textContent = String(board.querySelectorAll("tr[data-alert-id]").length); }
          tickClocks();
        })
        .catch(function () { if (live) { live.classList.add("stale"); live.textContent = "连接中断，重试中…"; } });
    }
    // Server-Sent Events say when this user's alerts change; polling is the fallback while the stream is
    // down (a proxy that buffers or drops it) and a slow resync while it is up.
    var stream = null, polls = 0;
    if (window.EventSource && board.dataset.stream) {
      stream = new EventSource(board.dataset.stream);
      stream.addEventListener("alerts", function (e) {
        if (e.data === version) { return; }  // the rows on screen are already this version
        version = e.data;
        refresh();
      });
      stream.addEventListener("logout", function () { stream.close(); window.location.reload(); });
      stream.addEventListener("open", function () { if (live) { live.classList.remove("stale"); live.textContent = "实时推送"; } });
    }
    setInterval(function () {
      polls += 1;
      if (!stream || stream.readyState !== 1 || polls % 6 === 0) { refresh(); }
    }, every);
    if (banner) { banner.addEventListener("click", function () { banner.classList.remove("show"); }); }
  }

  // No inline handlers or javascript: URLs (the Content-Security-Policy refuses them): behaviour is bound here.
  function bindControls() {
    // a <select data-autosubmit> submits its form when changed (部门工作台's department picker)
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { if (select.form) { select.form.submit(); } });
    });
    // <a data-back href="fallback">: back in history when there is one, else the link's own page
    document.querySelectorAll("a[data-back]").forEach(function (link) {
      link.addEventListener("click", function (e) {
        if (window.history.length > 1 && document.referrer && new URL(document.referrer).origin === window.location.origin) {
          e.preventDefault();
          window.history.back();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindControls();
    tickClocks();
    setInterval(tickClocks, 1000);
    var board = document.getElementById("board");
    if (board && board.dataset.fragment) { startBoard(board); }
  });
})();
