// The accountability board: the counts, the "need help" list and the department chart are
// replaced whenever the server-sent event stream says the roll call changed.
(function () {
  "use strict";

  function markLive(state, text) {
    const badge = document.querySelector("[data-live-state]");
    if (!badge) return;
    badge.dataset.liveState = state;
    badge.textContent = text;
  }

  function swap(html) {
    const old = document.getElementById("board");
    if (!old) return;
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    const fresh = holder.firstElementChild;
    if (fresh) old.replaceWith(fresh);
  }

  function start(root) {
    if (!window.EventSource) {
      markLive("off", "Reload for updates");
      return;
    }
    const source = new EventSource(root.dataset.boardStream);
    source.addEventListener("open", function () { markLive("live", "Live"); });
    source.addEventListener("error", function () {
      const closed = source.readyState === EventSource.CLOSED;
      markLive(closed ? "off" : "reconnecting", closed ? "Not live: reload the page" : "Reconnecting…");
    });
    source.addEventListener("board", function (event) {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      swap(data.html);
      root.dataset.updated = String(Date.now());
      markLive("live", "Live");
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-board-stream]");
    if (root) start(root);
  });
})();
