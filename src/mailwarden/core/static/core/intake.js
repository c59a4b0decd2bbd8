// The intake screen, built for a keyboard-wedge scanner: a scan ends with Enter, which checks
// the number and moves on to the recipient; arrows and Enter pick a suggested recipient.
(function () {
  "use strict";

  function scanField() { return document.querySelector("[data-scan]"); }
  function queryField() { return document.getElementById("id_recipient_query"); }
  function list() { return document.getElementById("recipient-suggestions"); }
  function options() { return Array.from(list() ? list().querySelectorAll(".suggestion") : []); }

  function setActive(index) {
    const all = options();
    all.forEach(function (el, i) {
      el.classList.toggle("is-active", i === index);
      el.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    const query = queryField();
    if (query && all[index]) query.setAttribute("aria-activedescendant", all[index].id);
  }

  function activeIndex() {
    return options().findIndex(function (el) { return el.classList.contains("is-active"); });
  }

  function pick(option) {
    const query = queryField();
    document.getElementById("id_recipient_id").value = option.dataset.id;
    query.value = option.dataset.name;
    query.setAttribute("aria-expanded", "false");
    const chosen = document.getElementById("recipient-chosen");
    if (chosen) chosen.textContent = "\u2713 " + option.dataset.name + (option.dataset.meta ? " \u00b7 " + option.dataset.meta : "");
    list().innerHTML = "";
    const kind = document.querySelector("input[name=kind]:checked") || document.querySelector("input[name=kind]");
    if (kind) kind.focus();
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (target === scanField() && event.key === "Enter") {
      // The scanner's Enter ends the number; it must not submit a half-filled form.
      event.preventDefault();
      htmx.trigger(target, "scanned");
      const query = queryField();
      if (query) query.focus();
      return;
    }
    if (target !== queryField()) return;
    const count = options().length;
    if (event.key === "ArrowDown" && count) {
      event.preventDefault();
      setActive((activeIndex() + 1) % count);
    } else if (event.key === "ArrowUp" && count) {
      event.preventDefault();
      setActive((activeIndex() - 1 + count) % count);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const all = options();
      const chosen = all[activeIndex()] || all[0];
      if (chosen) pick(chosen);
    } else if (event.key === "Escape") {
      list().innerHTML = "";
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target === queryField()) {
      // A changed name no longer means the person picked before.
      document.getElementById("id_recipient_id").value = "";
      const chosen = document.getElementById("recipient-chosen");
      if (chosen) chosen.textContent = "";
    }
  });

  document.addEventListener("click", function (event) {
    const option = event.target.closest(".suggestion");
    if (option) pick(option);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.elt === list()) {
      const count = options().length;
      queryField().setAttribute("aria-expanded", count ? "true" : "false");
      if (count) setActive(0);
    }
  });
})();
