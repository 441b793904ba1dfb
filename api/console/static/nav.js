/* The navigation menu on a narrow screen: the 菜单 button opens and closes it; Escape closes it. */
(function () {
  "use strict";
  var bar = document.querySelector(".topbar");
  var button = document.querySelector(".nav-toggle");
  if (!bar || !button) { return; }
  function set(open) {
    bar.classList.toggle("menu-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  button.addEventListener("click", function () { set(!bar.classList.contains("menu-open")); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && bar.classList.contains("menu-open")) { set(false); button.focus(); }
  });
})();
