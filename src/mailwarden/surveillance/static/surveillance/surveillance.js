// Surveillance pages: a site picker that shows its choice at once. A file, not inline script,
// because the CSP allows scripts from this origin only.
(function () {
  "use strict";

  function init() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
