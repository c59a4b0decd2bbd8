// Behaviour shared by every console page. Kept in a file because the CSP forbids inline script.
(function () {
  "use strict";

  // Dialogs: a button with data-open-dialog="ID" opens <dialog id="ID">; data-close-dialog closes.
  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog) {
        event.preventDefault();
        dialog.showModal();
        const first = dialog.querySelector("[autofocus], textarea, input:not([type=hidden]), button");
        if (first) first.focus();
      }
      return;
    }
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });

  // After HTMX replaces part of the page, put the cursor where the next keystroke belongs.
  document.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.elt;
    const wanted = target.querySelector ? target.querySelector("[data-autofocus]") : null;
    if (wanted) wanted.focus();
  });

  function toast(text) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const note = document.createElement("div");
    note.className = "toast";
    note.textContent = text;
    box.appendChild(note);
    window.setTimeout(function () { note.remove(); }, 6000);
  }

  document.addEventListener("htmx:sendError", function () {
    toast("The server cannot be reached. Your entry was not saved; try again.");
  });
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr.status >= 500) toast("Something went wrong on the server; try again.");
  });
})();
