// The screener's workstation: operator views, zoom and pan, analysis boxes, and the item timer.
// A file rather than inline script because the CSP forbids inline script; transforms are set
// through the CSSOM, which the CSP allows, never through style attributes.
(function () {
  "use strict";

  const root = document.querySelector("[data-workstation]");
  if (!root) return;

  // ---------------------------------------------------------------- timer
  // The server signs when the page was opened and works out the seconds itself; this only
  // shows the screener the same count.
  const timer = root.querySelector("[data-timer]");
  if (timer) {
    const text = timer.querySelector("[data-timer-text]");
    const start = performance.now() - Number(timer.dataset.elapsed || 0) * 1000;
    const tick = function () {
      const seconds = Math.max(0, Math.floor((performance.now() - start) / 1000));
      const minutes = Math.floor(seconds / 60);
      text.textContent = minutes + ":" + String(seconds % 60).padStart(2, "0");
    };
    tick();
    window.setInterval(tick, 1000);
  }

  // A refused decision comes back with its error inside the dialog it was typed in.
  root.querySelectorAll("dialog[data-open-on-load]").forEach(function (dialog) {
    dialog.showModal();
  });

  const stage = root.querySelector("[data-stage]");
  if (!stage) return;
  const frame = stage.querySelector("[data-frame]");
  const image = stage.querySelector("[data-image]");
  const boxes = stage.querySelector("[data-boxes]");
  const viewButtons = Array.from(root.querySelectorAll("[data-view]"));
  const levelBox = root.querySelector("[data-level-box]");
  const level = root.querySelector("[data-level]");
  const levelText = root.querySelector("[data-level-text]");
  const zoomText = root.querySelector("[data-zoom-text]");
  const boxToggle = root.querySelector("[data-toggle-boxes]");
  const marks = stage.querySelector("[data-marks]");
  const markInput = root.querySelector("[data-mark-input]");
  const markClear = root.querySelector("[data-mark-clear]");

  // ---------------------------------------------------------------- views

  let current = viewButtons.find(function (b) { return b.classList.contains("is-active"); });

  function sourceOf(button) {
    if (button.dataset.view === "variable_density") {
      return button.dataset.src + "?level=" + Number(level.value).toFixed(2);
    }
    return button.dataset.src;
  }

  function showView(button) {
    if (!button || button.disabled) return;
    current = button;
    viewButtons.forEach(function (b) {
      const on = b === button;
      b.classList.toggle("is-active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    levelBox.hidden = button.dataset.view !== "variable_density";
    const src = sourceOf(button);
    if (image.getAttribute("src") !== src) {
      image.classList.add("is-loading");
      image.setAttribute("src", src);
    }
    root.dataset.currentView = button.dataset.view;
  }

  image.addEventListener("load", function () { image.classList.remove("is-loading"); });
  image.addEventListener("error", function () { image.classList.remove("is-loading"); });
  viewButtons.forEach(function (button) {
    button.addEventListener("click", function () { showView(button); });
  });

  function setLevel(value) {
    level.value = String(Math.min(1, Math.max(0, value)));
    levelText.textContent = Number(level.value).toFixed(2);
    if (current && current.dataset.view === "variable_density") showView(current);
  }
  // "change", not "input": each level is a fresh rendering on the server.
  level.addEventListener("change", function () { setLevel(Number(level.value)); });
  level.addEventListener("input", function () { levelText.textContent = Number(level.value).toFixed(2); });

  // ---------------------------------------------------------------- boxes

  function toggleBoxes() {
    const hidden = boxes.classList.toggle("is-hidden");
    boxToggle.classList.toggle("is-active", !hidden);
    boxToggle.setAttribute("aria-pressed", hidden ? "false" : "true");
  }
  boxToggle.addEventListener("click", toggleBoxes);

  root.querySelectorAll("[data-region-row]").forEach(function (row) {
    const box = boxes.querySelector('[data-region="' + row.dataset.regionRow + '"]');
    if (!box) return;
    row.addEventListener("mouseenter", function () { box.classList.add("is-lit"); });
    row.addEventListener("mouseleave", function () { box.classList.remove("is-lit"); });
  });

  // ---------------------------------------------------------------- zoom and pan

  const MIN_SCALE = 1;
  const MAX_SCALE = 10;
  let scale = 1;
  let panX = 0;
  let panY = 0;

  function keepInside() {
    const width = stage.clientWidth;
    const height = stage.clientHeight;
    panX = Math.min(0, Math.max(width - frame.offsetWidth * scale, panX));
    panY = Math.min(0, Math.max(height - frame.offsetHeight * scale, panY));
  }

  function apply() {
    keepInside();
    frame.style.transform = "translate(" + panX + "px, " + panY + "px) scale(" + scale + ")";
    zoomText.textContent = Math.round(scale * 100) + "%";
    root.dataset.zoom = scale.toFixed(2);
  }

  function zoomAt(factor, x, y) {
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale * factor));
    const k = next / scale;
    // The point under (x, y) stays where it is.
    panX = x - (x - panX) * k;
    panY = y - (y - panY) * k;
    scale = next;
    apply();
  }

  function zoomCentre(factor) {
    zoomAt(factor, stage.clientWidth / 2, stage.clientHeight / 2);
  }

  function reset() {
    scale = 1;
    panX = 0;
    panY = 0;
    apply();
  }

  root.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      const how = button.dataset.zoom;
      if (how === "in") zoomCentre(1.25);
      else if (how === "out") zoomCentre(0.8);
      else reset();
    });
  });

  stage.addEventListener("wheel", function (event) {
    event.preventDefault();
    const rect = stage.getBoundingClientRect();
    const factor = Math.exp(-event.deltaY * 0.0015);
    zoomAt(factor, event.clientX - rect.left, event.clientY - rect.top);
  }, { passive: false });

  // ---------------------------------------------------------------- the mark
  // A click (a press that did not move) marks where the screener sees something; the decision
  // form carries it as fractions of the image, which is how a test image's answer is judged.

  const CLICK_SLOP = 6;
  let pressed = null;

  function setMark(x, y) {
    if (!marks || !markInput) return;
    const mark = marks.querySelector("[data-mark]");
    const width = Number(image.getAttribute("width"));
    const height = Number(image.getAttribute("height"));
    const cx = x * width;
    const cy = y * height;
    const arm = Math.max(width, height) / 30;
    mark.querySelector("circle").setAttribute("cx", cx);
    mark.querySelector("circle").setAttribute("cy", cy);
    const h = mark.querySelector("[data-mark-h]");
    h.setAttribute("x1", cx - arm); h.setAttribute("x2", cx + arm);
    h.setAttribute("y1", cy); h.setAttribute("y2", cy);
    const v = mark.querySelector("[data-mark-v]");
    v.setAttribute("x1", cx); v.setAttribute("x2", cx);
    v.setAttribute("y1", cy - arm); v.setAttribute("y2", cy + arm);
    // An SVG element has no "hidden" property; a class hides it instead.
    mark.classList.remove("is-hidden");
    markInput.value = x.toFixed(4) + "," + y.toFixed(4);
    root.dataset.marked = markInput.value;
    if (markClear) markClear.hidden = false;
  }

  function clearMark() {
    if (!marks || !markInput) return;
    marks.querySelector("[data-mark]").classList.add("is-hidden");
    markInput.value = "";
    delete root.dataset.marked;
    if (markClear) markClear.hidden = true;
  }
  if (markClear) markClear.addEventListener("click", clearMark);

  function markAt(clientX, clientY) {
    const rect = image.getBoundingClientRect();
    if (!rect.width || !rect.height) return;
    const x = (clientX - rect.left) / rect.width;
    const y = (clientY - rect.top) / rect.height;
    if (x < 0 || x > 1 || y < 0 || y > 1) return;
    setMark(x, y);
  }

  // Pointer events cover mouse, pen and touch: one pointer drags, two pinch.
  const pointers = new Map();
  let pinch = null;

  function midpoint() {
    const [a, b] = Array.from(pointers.values());
    const rect = stage.getBoundingClientRect();
    return {
      x: (a.x + b.x) / 2 - rect.left,
      y: (a.y + b.y) / 2 - rect.top,
      distance: Math.hypot(a.x - b.x, a.y - b.y),
    };
  }

  stage.addEventListener("pointerdown", function (event) {
    stage.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    pinch = pointers.size === 2 ? midpoint() : null;
    pressed = pointers.size === 1 ? { x: event.clientX, y: event.clientY } : null;
    stage.classList.add("is-dragging");
  });

  stage.addEventListener("pointermove", function (event) {
    const last = pointers.get(event.pointerId);
    if (!last) return;
    const moved = { x: event.clientX, y: event.clientY };
    if (pointers.size === 1) {
      panX += moved.x - last.x;
      panY += moved.y - last.y;
      pointers.set(event.pointerId, moved);
      apply();
      return;
    }
    pointers.set(event.pointerId, moved);
    if (pointers.size === 2 && pinch) {
      const now = midpoint();
      if (pinch.distance > 0) zoomAt(now.distance / pinch.distance, now.x, now.y);
      panX += now.x - pinch.x;
      panY += now.y - pinch.y;
      apply();
      pinch = now;
    }
  });

  function release(event) {
    if (event.type === "pointerup" && pressed && pointers.size === 1 &&
        Math.hypot(event.clientX - pressed.x, event.clientY - pressed.y) < CLICK_SLOP) {
      markAt(event.clientX, event.clientY);
    }
    pressed = null;
    pointers.delete(event.pointerId);
    pinch = pointers.size === 2 ? midpoint() : null;
    if (pointers.size === 0) stage.classList.remove("is-dragging");
  }
  stage.addEventListener("pointerup", release);
  stage.addEventListener("pointercancel", release);
  window.addEventListener("resize", apply);

  // ---------------------------------------------------------------- keyboard

  const PAN_STEP = 60;
  const KEYS_PASS = ["checkbox", "radio", "button", "submit", "reset"];

  function isTyping(target) {
    if (!target || !target.closest) return false;
    if (target.closest("textarea, select, [contenteditable]")) return true;
    return target.tagName === "INPUT" && KEYS_PASS.indexOf(target.type) === -1;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    // Typing a note or a reason must never flip the view; a ticked box keeps the focus, and
    // the keys must still work after it.
    if (isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    const key = event.key;
    const byKey = viewButtons.find(function (b) { return b.dataset.key === key; });
    let handled = true;
    if (byKey) showView(byKey);
    else if (key === "+" || key === "=") zoomCentre(1.25);
    else if (key === "-" || key === "_") zoomCentre(0.8);
    else if (key === "0") reset();
    else if (key === "b" || key === "B") toggleBoxes();
    else if (key === "[") setLevel(Number(level.value) - 0.05);
    else if (key === "]") setLevel(Number(level.value) + 0.05);
    else if (key === "ArrowLeft" && scale > 1) { panX += PAN_STEP; apply(); }
    else if (key === "ArrowRight" && scale > 1) { panX -= PAN_STEP; apply(); }
    else if (key === "ArrowUp" && scale > 1) { panY += PAN_STEP; apply(); }
    else if (key === "ArrowDown" && scale > 1) { panY -= PAN_STEP; apply(); }
    else handled = false;
    if (handled) event.preventDefault();
  });
})();
