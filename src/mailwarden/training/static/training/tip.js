// TIP training: a click or tap on the image sets the mark (as fractions of the image), the
// "Threat here" button waits for a mark, and the answer carries the time since the image showed.
(function () {
  "use strict";

  function setUp() {
    var form = document.querySelector("[data-tip-form]");
    var stage = document.querySelector("[data-tip-stage]");
    var image = document.querySelector("[data-tip-image]");
    if (!form || !stage || !image) return;
    var mark = stage.querySelector("[data-tip-mark]");
    var markX = form.querySelector("[data-mark-x]");
    var markY = form.querySelector("[data-mark-y]");
    var elapsed = form.querySelector("[data-response-ms]");
    var threat = form.querySelector("[data-tip-threat]");
    var clear = form.querySelector("[data-tip-clear]");
    var hint = form.querySelector("[data-tip-hint]");
    var shownAt = null;
    var sent = false;

    function started() { if (shownAt === null) shownAt = performance.now(); }
    if (image.complete && image.naturalWidth) started(); else image.addEventListener("load", started);

    threat.disabled = true;

    stage.addEventListener("click", function (event) {
      var box = image.getBoundingClientRect();
      if (!box.width || !box.height) return;
      var x = (event.clientX - box.left) / box.width;
      var y = (event.clientY - box.top) / box.height;
      if (x < 0 || x > 1 || y < 0 || y > 1) return;
      markX.value = x.toFixed(4);
      markY.value = y.toFixed(4);
      if (mark) {
        // The overlay's units are the image's own pixels, as its width and height attributes say.
        mark.setAttribute("cx", String(x * Number(image.getAttribute("width"))));
        mark.setAttribute("cy", String(y * Number(image.getAttribute("height"))));
        mark.classList.remove("is-hidden");
      }
      threat.disabled = false;
      if (hint) hint.textContent = "Mark set. Press Threat here, or click again to move it.";
    });

    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
      if (shownAt !== null) elapsed.value = String(Math.round(performance.now() - shownAt));
    });

    document.addEventListener("keydown", function (event) {
      if (event.target && /INPUT|TEXTAREA|SELECT/.test(event.target.tagName)) return;
      if (event.key === "c" || event.key === "C") { clear.click(); }
      if ((event.key === "t" || event.key === "T") && !threat.disabled) { threat.click(); }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
