// Access control pages: the live door board, the lockdown confirmation and the credential form.
// A file, not inline script, because the CSP allows scripts from this origin only.
(function () {
  "use strict";

  // ------------------------------------------------------------------ live door board
  //
  // The server sends "board" events whose data maps element ids to fresh HTML for them (already
  // escaped by the server's templates). Each is swapped in whole; a door the page has not seen
  // is added to the grid. On connecting, the server sends every piece, so a reconnect after the
  // stream's lifetime, or after the network dropped, brings the page up to date by itself.

  function markLive(state, text) {
    const badge = document.querySelector("[data-live-state]");
    if (!badge) return;
    badge.dataset.liveState = state;
    badge.textContent = text;
  }

  function swapIn(id, html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const fresh = template.content.firstElementChild;
    if (!fresh) return;
    const old = document.getElementById(id);
    if (old) {
      // A dialog open over the board must survive: only the pieces themselves are replaced.
      old.replaceWith(fresh);
    } else if (id.indexOf("door-") === 0) {
      const grid = document.getElementById("door-grid");
      if (grid) grid.appendChild(fresh);
    } else {
      return;
    }
    fresh.classList.add("is-fresh");
    window.setTimeout(function () { fresh.classList.remove("is-fresh"); }, 1600);
  }

  function startBoard(board) {
    if (!window.EventSource) {
      markLive("off", "Reload for updates");
      return;
    }
    let first = true;
    const source = new EventSource(board.dataset.boardStream);
    source.addEventListener("open", function () { markLive("live", "Live"); });
    source.addEventListener("error", function () {
      markLive(source.readyState === EventSource.CLOSED ? "off" : "reconnecting",
        source.readyState === EventSource.CLOSED ? "Not live: reload the page" : "Reconnecting…");
    });
    source.addEventListener("board", function (event) {
      let parts;
      try {
        parts = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      Object.keys(parts).forEach(function (id) {
        // The first message repeats what the page was drawn with; only changes should flash.
        if (first) {
          const old = document.getElementById(id);
          if (old && old.outerHTML === parts[id].trim()) return;
        }
        swapIn(id, parts[id]);
      });
      first = false;
      board.dataset.updated = String(Date.now());
      markLive("live", "Live");
    });
    // Leaving the page closes the stream at once instead of when the server next writes.
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // ------------------------------------------------------------------ typed confirmation
  //
  // Lock down stays disabled until the site code is typed; the server checks it again.

  function wireConfirm(form) {
    const code = form.dataset.confirmCode;
    const input = form.querySelector("input[name=confirm]");
    const submit = form.querySelector("[data-confirm-submit]");
    if (!input || !submit) return;
    const update = function () { submit.disabled = input.value.trim() !== code; };
    input.addEventListener("input", update);
    update();
  }

  // ------------------------------------------------------------------ credential form
  //
  // Shows the card inputs for a card, the PIN input for a PIN, both for card and PIN.

  function wireCredential(form) {
    const cardPart = form.querySelector("[data-part=card]");
    const pinPart = form.querySelector("[data-part=pin]");
    const format = form.querySelector("select[name=format]");
    const raw = form.querySelector(".raw-only");
    const update = function () {
      const chosen = form.querySelector("input[name=kind]:checked");
      const kind = chosen ? chosen.value : "card";
      if (cardPart) cardPart.classList.toggle("hidden", kind === "pin");
      if (pinPart) pinPart.classList.toggle("hidden", kind === "card");
      if (raw && format) raw.classList.toggle("hidden", format.value !== "raw");
    };
    form.addEventListener("change", update);
    update();
  }

  function init() {
    const board = document.querySelector("[data-board-stream]");
    if (board) startBoard(board);
    document.querySelectorAll("form[data-confirm-code]").forEach(wireConfirm);
    document.querySelectorAll("form[data-credential-form]").forEach(wireCredential);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
