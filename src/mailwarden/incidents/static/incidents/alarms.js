// The alarm console: live updates over server-sent events, ticked boxes kept across updates,
// and a short beep (WebAudio) when a critical alarm appears. Browsers only allow sound after
// the person has touched the page, so the sound is switched on with a button.
(function () {
  "use strict";

  let audio = null;
  let soundOn = false;

  function beep() {
    if (!soundOn || !audio) return;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
    document.body.dataset.lastBeep = String(Date.now());
  }

  function ids(text) {
    return (text || "").split(" ").filter(Boolean);
  }

  function markLive(state, text) {
    const badge = document.querySelector("[data-live-state]");
    if (!badge) return;
    badge.dataset.liveState = state;
    badge.textContent = text;
  }

  function swapList(html, critical) {
    const old = document.getElementById("alarm-list");
    if (!old) return;
    const known = new Set(Array.from(old.querySelectorAll("[data-alarm-id]"), function (r) { return r.dataset.alarmId; }));
    const seenCritical = new Set(ids(old.dataset.critical));
    const ticked = new Set(Array.from(old.querySelectorAll("input[name=alarm_ids]:checked"), function (c) { return c.value; }));
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    const fresh = holder.firstElementChild;
    if (!fresh) return;
    fresh.querySelectorAll("input[name=alarm_ids]").forEach(function (c) { c.checked = ticked.has(c.value); });
    fresh.querySelectorAll("[data-alarm-id]").forEach(function (r) {
      if (!known.has(r.dataset.alarmId)) r.classList.add("is-new");
    });
    old.replaceWith(fresh);
    if (ids(critical).some(function (i) { return !seenCritical.has(i); })) beep();
  }

  function start(root) {
    const toggle = document.querySelector("[data-sound-toggle]");
    if (toggle) {
      toggle.addEventListener("click", function () {
        soundOn = !soundOn;
        if (soundOn && !audio && window.AudioContext) audio = new window.AudioContext();
        toggle.setAttribute("aria-pressed", String(soundOn));
        toggle.textContent = soundOn ? "Sound on" : "Sound off";
      });
    }
    const all = document.querySelector("[data-select-all]");
    if (all) {
      all.addEventListener("click", function () {
        document.querySelectorAll("#alarm-list input[name=alarm_ids]").forEach(function (c) { c.checked = true; });
      });
    }
    if (!window.EventSource) {
      markLive("off", "Reload for updates");
      return;
    }
    const source = new EventSource(root.dataset.alarmStream);
    source.addEventListener("open", function () { markLive("live", "Live"); });
    source.addEventListener("error", function () {
      const closed = source.readyState === EventSource.CLOSED;
      markLive(closed ? "off" : "reconnecting", closed ? "Not live: reload the page" : "Reconnecting…");
    });
    source.addEventListener("alarms", function (event) {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      swapList(data.html, data.critical);
      root.dataset.updated = String(Date.now());
      markLive("live", "Live");
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-alarm-stream]");
    if (root) start(root);
  });
})();
