/* /docs: the vendored Swagger UI on the login-protected spec. "Try it out" runs in the console's
   session, and the API refuses a cookie-authenticated POST/PUT/PATCH/DELETE without the session's CSRF
   token, so a requestInterceptor adds it to every same-origin request: the token and the header's name
   come from the page's meta tags (rendered from api.auth.sessions.CSRF_HEADER). A request to another
   origin never gets the token; a Bearer token typed into the request needs no CSRF and is unaffected. */
(function () {
  "use strict";

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") : null;
  }

  var token = meta("csrf-token"), header = meta("csrf-header");

  function sameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === window.location.origin;
    } catch (e) {
      return false;
    }
  }

  function addCsrfToken(req) {
    if (token && header && sameOrigin(req.url)) {
      req.headers = req.headers || {};
      req.headers[header] = token;
    }
    return req;
  }

  var root = document.querySelector("#swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    requestInterceptor: addCsrfToken
  });
})();
