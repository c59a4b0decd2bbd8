// The quarantine register: a proposal to destroy an item or hand it over says, before it is
// sent, that the outcome is final once confirmed. A file, as the CSP forbids inline script.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    const choice = event.target.closest("[data-outcome]");
    if (!choice) return;
    const form = choice.closest("[data-propose-form]");
    const warning = form && form.querySelector("[data-final-warning]");
    if (warning) warning.classList.toggle("hidden", choice.dataset.outcome === "released");
  });
})();
