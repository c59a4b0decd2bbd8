// The pickup screen: choose the proof, and draw a signature with a finger, stylus or mouse.
(function () {
  "use strict";

  function showProof(method) {
    document.querySelectorAll(".proof-panel").forEach(function (panel) {
      const shown = panel.dataset.method === method;
      panel.classList.toggle("is-shown", shown);
      if (shown) {
        // A canvas measured while hidden has no size; measure it now that it shows.
        const pad = panel.querySelector("canvas.signature-pad");
        if (pad && pad.mwResize) pad.mwResize();
        const input = panel.querySelector("input:not([type=hidden])");
        if (input) input.focus();
      }
    });
  }

  function setUpPad(canvas) {
    const ctx = canvas.getContext("2d");
    let drawing = false;
    let inked = false;

    function blank() {
      // An opaque white ground: a transparent signature would read as blank once flattened.
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      inked = false;
    }

    function resize() {
      const ratio = window.devicePixelRatio || 1;
      const box = canvas.getBoundingClientRect();
      canvas.width = Math.round(box.width * ratio);
      canvas.height = Math.round(box.height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 2.5;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111827";
      blank();
    }

    function point(event) {
      const box = canvas.getBoundingClientRect();
      return { x: event.clientX - box.left, y: event.clientY - box.top };
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      const p = point(event);
      ctx.beginPath();
      ctx.moveTo(p.x, p.y);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      event.preventDefault();
      const p = point(event);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      inked = true;
    });
    function stop() { drawing = false; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);

    const clear = document.querySelector("[data-clear-signature]");
    if (clear) clear.addEventListener("click", function (event) { event.preventDefault(); blank(); });

    const form = canvas.closest("form");
    form.addEventListener("submit", function () {
      const method = form.querySelector("input[name=method]:checked");
      const field = form.querySelector("input[name=signature]");
      field.value = method && method.value === "signature" && inked ? canvas.toDataURL("image/png") : "";
    });
    canvas.mwResize = resize;
  }

  document.addEventListener("change", function (event) {
    if (event.target.name === "method") showProof(event.target.value);
  });

  document.addEventListener("DOMContentLoaded", function () {
    const pad = document.querySelector("canvas.signature-pad");
    if (pad) setUpPad(pad);
    const checked = document.querySelector("input[name=method]:checked");
    if (checked) showProof(checked.value);
  });
})();
