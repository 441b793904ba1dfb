/* Forms: empty fields left out of a GET form's URL (data-drop-empty), and the 转派 picker's filter by
   name, place or pinyin (data-dept-picker). Bound here, never inline (Content-Security-Policy). */
(function () {
  "use strict";

  function dropEmpty(form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[name], select[name]").forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio" || el.type === "hidden") { return; }
        if (String(el.value).trim() === "") { el.disabled = true; el.dataset.dropped = "1"; }
      });
    });
  }

  // coming back to the page (history) must not leave fields disabled
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-dropped]").forEach(function (el) { el.disabled = false; delete el.dataset.dropped; });
  });

  function words(text) { return String(text).toLowerCase().split(/\s+/).filter(Boolean); }

  function startPicker(picker) {
    var input = picker.querySelector("[data-dept-filter]"), select = picker.querySelector("select");
    var count = picker.querySelector("[data-dept-count]"), empty = picker.querySelector("[data-dept-empty]");
    if (!input || !select) { return; }
    var options = Array.prototype.slice.call(select.querySelectorAll("option"));
    var total = options.length;
    function apply() {
      var wanted = words(input.value), shown = 0, first = null;
      options.forEach(function (o) {
        var hay = (o.dataset.search || o.textContent).toLowerCase();
        var hit = wanted.every(function (w) { return hay.indexOf(w) >= 0; });
        o.hidden = !hit;
        if (hit) { shown += 1; if (!first && !o.disabled) { first = o; } }
      });
      select.querySelectorAll("optgroup").forEach(function (g) {
        g.hidden = !Array.prototype.some.call(g.querySelectorAll("option"), function (o) { return !o.hidden; });
      });
      var chosen = select.selectedOptions[0];
      if (first && (!chosen || chosen.hidden)) { select.value = first.value; }
      if (!first) { select.value = ""; }
      if (count) { count.textContent = wanted.length ? "匹配 " + shown + " 个（共 " + total + " 个）" : "共 " + total + " 个"; }
      if (empty) { empty.hidden = shown > 0; }
    }
    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === "ArrowDown") { e.preventDefault(); select.focus(); }
    });
  }

  document.querySelectorAll("form[data-drop-empty]").forEach(dropEmpty);
  document.querySelectorAll("[data-dept-picker]").forEach(startPicker);
}());
