// The items list: tick all on the page, count the ticked, show the location only for a move.
// Kept in a file because the CSP forbids inline script; delegated, so it survives HTMX swaps.
(function () {
  "use strict";

  function form() { return document.querySelector("[data-bulk-form]"); }

  function refresh() {
    const bulk = form();
    if (!bulk) return;
    const boxes = bulk.querySelectorAll("[data-select-item]");
    const ticked = bulk.querySelectorAll("[data-select-item]:checked").length;
    const count = bulk.querySelector("[data-selected-count]");
    if (count) count.textContent = ticked + " selected";
    const all = bulk.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    const action = bulk.querySelector("select[name=action]");
    const place = bulk.querySelector(".bulk-location");
    if (action && place) place.hidden = action.value !== "move";
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (!(target instanceof HTMLElement) || !target.closest("[data-bulk-form]")) return;
    if (target.matches("[data-select-all]")) {
      form().querySelectorAll("[data-select-item]").forEach(function (box) {
        box.checked = target.checked;
      });
    }
    refresh();
  });

  // Printing labels answers with a PDF: open it beside the list rather than in place of it.
  document.addEventListener("submit", function (event) {
    const bulk = event.target;
    if (!(bulk instanceof HTMLFormElement) || !bulk.matches("[data-bulk-form]")) return;
    const action = bulk.querySelector("select[name=action]");
    bulk.target = action && action.value === "labels" ? "_blank" : "";
  });

  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();
