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
    root.querySelectorAll("[data-alert-id][data-major='1']").forEach(function (el) { ids.push(el.dataset.alertId); });
    return ids;
  }

  // What a refresh must not take away: the focused control (by its row and data-focus key), what the
  // reader is looking at (the focused row, else the first row in view, stays where it was on screen, even
  // when rows are added above it), and which 处置指引 are open on the workbench.
  function keepPlace(root) {
    var active = document.activeElement, place = { x: window.scrollX, y: window.scrollY, open: {} };
    if (active && root.contains(active)) {
      var row = active.closest("[data-alert-id]");
      place.row = row ? row.dataset.alertId : null;
      place.key = active.dataset.focus || null;
    }
    var anchor = place.row ? root.querySelector("[data-alert-id='" + place.row + "']") : null;
    if (!anchor) {
      anchor = Array.prototype.find.call(root.querySelectorAll("[data-alert-id]"), function (el) {
        return el.getBoundingClientRect().bottom > 0;
      }) || null;
    }
    if (anchor) { place.anchor = anchor.dataset.alertId; place.top = anchor.getBoundingClientRect().top; }
    root.querySelectorAll("[data-alert-id] details").forEach(function (d) {
      var row = d.closest("[data-alert-id]");
      place.open[row.dataset.alertId] = d.open;
    });
    return place;
  }

  function restorePlace(root, place) {
    root.querySelectorAll("[data-alert-id] details").forEach(function (d) {
      var id = d.closest("[data-alert-id]").dataset.alertId;
      if (Object.prototype.hasOwnProperty.call(place.open, id)) { d.open = place.open[id]; }
    });
    if (place.row) {
      var row = root.querySelector("[data-alert-id='" + place.row + "']");
      var target = row && ((place.key && row.querySelector("[data-focus='" + place.key + "']")) || row.querySelector("[data-focus], a, button"));
      if (target) { target.focus({ preventScroll: true }); }
    }
    window.scrollTo(place.x, place.y);
    var anchor = place.anchor ? root.querySelector("[data-alert-id='" + place.anchor + "']") : null;
    if (anchor && place.y > 0) { window.scrollBy(0, anchor.getBoundingClientRect().top - place.top); }
  }

  function updateCounters(header) {
    if (!header) { return; }
    var counts;
    try { counts = JSON.parse(header); } catch (e) { return; }
    document.querySelectorAll("[data-counter]").forEach(function (el) {
      var key = el.dataset.counter;
      if (Object.prototype.hasOwnProperty.call(counts, key)) { el.textContent = String(counts[key]); }
    });
    var more = document.getElementById("wall-more");
    if (more && typeof counts.open === "number") {
      var shown = document.querySelectorAll("#board tr[data-alert-id]").length, rest = counts.open - shown;
      more.textContent = rest > 0 ? "另有 " + rest + " 条待处置，见预警看板" : "以上为全部待处置预警";
    }
  }

  function announce(text) {
    var region = document.getElementById("board-announce");
    if (!region) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);  // a change screen readers notice
  }

  // The wall screen never scrolls: when the ten rows and the counters do not fit (an odd screen size or
  // long names), the type shrinks until they do.
  function fitWall() {
    var main = document.querySelector("main.wall");
    if (!main) { return; }
    main.style.fontSize = "";
    var size = parseFloat(window.getComputedStyle(main).fontSize), floor = size * 0.6;
    while (document.documentElement.scrollHeight > window.innerHeight + 1 && size > floor) {
      size *= 0.96;
      main.style.fontSize = size.toFixed(2) + "px";
    }
  }

  function startBoard(board) {
    var url = board.dataset.fragment, every = Number(board.dataset.poll || 10) * 1000;
    var body = board.tagName === "TABLE" ? board.querySelector("tbody") : board;
    var live = document.getElementById("live"), banner = document.getElementById("banner-major");
    var known = {}, version = board.dataset.version || "";
    majorIds(board).forEach(function (id) { known[id] = true; });
    function refresh() {
      var counters = null;
      return fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected && r.url.indexOf("/login") >= 0) { window.location.reload(); throw new Error("logged out"); }
          if (!r.ok) { throw new Error(String(r.status)); }
          version = r.headers.get("X-Alerts-Version") || version;
          counters = r.headers.get("X-Board-Counters");
          return r.text();
        })
        .then(function (html) {
          var place = keepPlace(body);
          body.innerHTML = html;
          restorePlace(body, place);
          var fresh = majorIds(board).filter(function (id) { return !known[id]; });
          var names = [];
          fresh.forEach(function (id) {
            known[id] = true;
            var row = board.querySelector("[data-alert-id='" + id + "']");
            if (row) { row.classList.add("is-new"); names.push((row.dataset.level || "重大") + "：" + (row.dataset.title || "")); }
          });
          if (fresh.length && banner) {
            banner.textContent = "新的重大预警 " + fresh.length + " 条，请立即处置";
            banner.classList.add("show");
            beep();
          }
          if (fresh.length) { announce("新的重大预警 " + fresh.length + " 条：" + names.join("；")); }
          if (live) { live.classList.remove("stale"); live.textContent = "实时 · " + new Date().toLocaleTimeString("zh-CN"); }
          var count = document.getElementById("board-count");
          if (count && !count.dataset.fixed) { count.textContent = String(board.querySelectorAll("[data-alert-id]").length); }
          updateCounters(counters);
          bindAcks(body, refresh);
          tickClocks();
          fitWall();
        })
        .catch(function () { if (live) { live.classList.add("stale"); live.textContent = "连接中断，重试中…"; } });
    }
    bindAcks(body, refresh);
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

  // 签收 from a row or card: one click, through the JSON API (problem details carry a Chinese reason); the
  // list refreshes in place. Without script the form itself posts and returns to the list.
  function bindAcks(root, refresh) {
    root.querySelectorAll("form[data-ack]").forEach(function (form) {
      if (form.dataset.bound) { return; }
      form.dataset.bound = "1";
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var button = form.querySelector("button"), token = document.querySelector("meta[name=csrf-token]");
        if (button) { button.disabled = true; button.textContent = "签收中…"; }
        fetch("/api/alerts/" + form.dataset.ack + "/acknowledge", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": token ? token.content : "" },
          body: "{}"
        }).then(function (r) {
          if (r.ok) { announce("已签收"); return refresh(); }
          return r.json().catch(function () { return {}; }).then(function (problem) {
            announce("签收失败：" + (problem.detail || ("错误 " + r.status)));
            if (button) { button.disabled = false; button.textContent = "签收"; }
            return refresh();
          });
        }).catch(function () {
          announce("签收失败：网络中断，请重试");
          if (button) { button.disabled = false; button.textContent = "签收"; }
        });
      });
    });
  }

  function tickWallClock() {
    var el = document.getElementById("wall-now");
    if (el) { el.textContent = new Date().toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }); }
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
    tickWallClock();
    setInterval(function () { tickClocks(); tickWallClock(); }, 1000);
    fitWall();
    window.addEventListener("resize", fitWall);
    var board = document.getElementById("board");
    if (board && board.dataset.fragment) { startBoard(board); }
  });
})();
