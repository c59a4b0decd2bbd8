// The zone, door line and motion mask editor, drawn in SVG over the camera's snapshot.
// A file, not inline script, because the CSP allows scripts from this origin only.
//
// Points are fractions (0..1) of the frame's width and height, as the server and the worker
// keep them. Save sends the whole drawing; the server checks it and answers with the field at
// fault ("regions.2.rules.0.seconds"), which is shown next to that region.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 1000; // the viewBox's width; its height follows the frame's aspect
  const KIND_LABELS = { zone: "Zone", line: "Door line", mask: "Motion mask" };
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const DAY_LABELS = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };
  // A click this close (in viewBox units) to the last point is the second click of a double-click.
  const SAME_POINT = 6;
  const KEY_STEP = 0.01;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "className") node.className = attrs[key];
      else if (attrs[key] === true) node.setAttribute(key, "");
      else if (attrs[key] !== false && attrs[key] !== null && attrs[key] !== undefined) node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    return node;
  }

  function defaultRule(type) {
    switch (type) {
      case "loitering": return { type: type, seconds: 30 };
      case "unattended": return { type: type, seconds: 60, distance: 100 };
      case "crowding": return { type: type, max_people: 5 };
      case "after_hours": return { type: type, schedule: [{ days: DAYS.slice(0, 5), start: "08:00", end: "18:00" }] };
      case "tailgating": return { type: type, window: 10 };
      default: return { type: type };
    }
  }

  function hhmm(value) {
    return typeof value === "string" ? value.slice(0, 5) : "";
  }

  function numberOrText(value) {
    // A number the server can check; anything else goes as typed, so the refusal names it.
    const n = Number(value);
    return value !== "" && isFinite(n) ? n : value;
  }

  function Editor(root) {
    const data = JSON.parse(document.getElementById("drawing").textContent);
    this.root = root;
    this.canEdit = root.dataset.canEdit === "1";
    this.saveUrl = data.save_url;
    this.doors = data.doors;
    this.height = WIDTH * data.aspect[1] / data.aspect[0];
    this.regions = data.regions.map(function (r) {
      if (r.kind === "zone") {
        (r.rules || []).forEach(function (rule) {
          (rule.schedule || []).forEach(function (w) { w.start = hhmm(w.start); w.end = hhmm(w.end); });
        });
      }
      return r;
    });
    this.selected = -1;
    this.drawing = null;
    this.errors = {};
    this.cursor = [0.5, 0.5];
    this.dirty = false;
    this.dragging = null;
    this.moved = false;
    this.canvas = root.querySelector("[data-canvas]");
    this.stage = root.querySelector("[data-stage]");
    this.list = root.querySelector("[data-region-list]");
    this.panel = root.querySelector("[data-properties]");
    this.hint = root.querySelector("[data-hint]");
    this.status = root.querySelector("[data-save-status]");
    this.canvas.setAttribute("viewBox", "0 0 " + WIDTH + " " + this.height);
    this.stage.style.aspectRatio = data.aspect[0] + " / " + data.aspect[1];
    this.wire();
    this.render();
  }

  Editor.prototype.wire = function () {
    const self = this;
    this.root.addEventListener("click", function (event) {
      const tool = event.target.closest("[data-tool]");
      if (tool) { self.start(tool.dataset.tool); return; }
      const action = event.target.closest("[data-action]");
      if (!action) return;
      const what = action.dataset.action;
      if (what === "finish") self.finish();
      else if (what === "cancel") self.cancel();
      else if (what === "save") self.save();
      else if (what === "delete") self.remove(self.selected);
      else if (what === "select") self.select(Number(action.dataset.index));
      else if (what === "swap-inside") self.swapInside();
      else if (what === "add-window") self.addWindow();
      else if (what === "remove-window") self.removeWindow(Number(action.dataset.window));
    });
    // A selected shape's corners can be dragged to new places.
    this.canvas.addEventListener("pointerdown", function (event) {
      const vertex = event.target.closest("[data-vertex]");
      if (!vertex || self.drawing || !self.canEdit) return;
      event.preventDefault();
      self.dragging = Number(vertex.dataset.vertex);
      self.canvas.setPointerCapture(event.pointerId);
    });
    this.canvas.addEventListener("pointermove", function (event) {
      if (self.dragging === null) return;
      const region = self.regions[self.selected];
      if (!region) return;
      region.points[self.dragging] = self.fractionAt(event);
      self.moved = true;
      self.renderCanvas();
    });
    this.canvas.addEventListener("pointerup", function () {
      if (self.dragging === null) return;
      self.dragging = null;
      if (self.moved) self.changed();
    });
    this.canvas.addEventListener("click", function (event) {
      if (self.moved) {
        // The click that ends a drag selects nothing.
        self.moved = false;
        return;
      }
      if (self.drawing) {
        self.addPoint(self.fractionAt(event));
        return;
      }
      const shape = event.target.closest("[data-index]");
      self.select(shape ? Number(shape.dataset.index) : -1);
    });
    this.canvas.addEventListener("dblclick", function (event) {
      if (self.drawing && self.drawing.kind !== "line") {
        event.preventDefault();
        self.finish();
      }
    });
    this.canvas.addEventListener("keydown", function (event) { self.canvasKey(event); });
    this.canvas.addEventListener("focus", function () { self.renderCanvas(); });
    this.canvas.addEventListener("blur", function () { self.renderCanvas(); });
    this.panel.addEventListener("input", function (event) { self.edit(event.target); });
    this.panel.addEventListener("change", function (event) { self.edit(event.target); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && self.drawing) { self.cancel(); }
    });
  };

  // ---------------------------------------------------------------- drawing

  Editor.prototype.fractionAt = function (event) {
    const box = this.canvas.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    return [Math.round(x * 100000) / 100000, Math.round(y * 100000) / 100000];
  };

  Editor.prototype.start = function (kind) {
    if (!this.canEdit) return;
    this.drawing = { kind: kind, points: [] };
    this.select(-1);
    this.say(kind === "line"
      ? "Click the door line's first point, then its second. Escape cancels."
      : "Click each corner of the " + KIND_LABELS[kind].toLowerCase() + "; double-click, Enter or Finish closes it. Escape cancels. From the keyboard: focus the picture, move with the arrow keys, add a corner with Space.");
    this.renderToolbar();
    this.renderCanvas();
  };

  Editor.prototype.addPoint = function (point) {
    const d = this.drawing;
    const last = d.points[d.points.length - 1];
    if (last && Math.hypot((last[0] - point[0]) * WIDTH, (last[1] - point[1]) * this.height) < SAME_POINT) {
      return; // the second click of a double-click
    }
    d.points.push(point);
    if (d.kind === "line" && d.points.length === 2) {
      this.finish();
      return;
    }
    this.renderCanvas();
  };

  Editor.prototype.nextName = function (kind) {
    const taken = new Set(this.regions.map(function (r) { return r.name; }));
    const base = kind === "line" ? "Door line" : kind === "mask" ? "mask" : "Zone";
    for (let n = 1; ; n++) {
      const name = base + " " + n;
      if (!taken.has(name)) return name;
    }
  };

  Editor.prototype.finish = function () {
    const d = this.drawing;
    if (!d) return;
    const needed = d.kind === "line" ? 2 : 3;
    if (d.points.length < needed) {
      this.say("A " + KIND_LABELS[d.kind].toLowerCase() + " needs at least " + needed + " points; " + d.points.length + " so far.");
      return;
    }
    const region = { kind: d.kind, name: this.nextName(d.kind), points: d.points, inside: "left", door: null, rules: [] };
    if (d.kind === "zone") region.rules.push(defaultRule("presence"));
    if (d.kind === "line") region.rules.push(defaultRule("line_crossing"));
    this.regions.push(region);
    this.drawing = null;
    this.changed();
    this.say(d.kind === "mask"
      ? "Motion mask added; Save to keep it."
      : KIND_LABELS[d.kind] + " added. Name it and choose its rules, then Save.");
    this.select(this.regions.length - 1);
    const name = this.panel.querySelector("[data-field=name]");
    if (name) name.focus();
  };

  Editor.prototype.cancel = function () {
    this.drawing = null;
    this.say("");
    this.renderToolbar();
    this.renderCanvas();
  };

  Editor.prototype.canvasKey = function (event) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[event.key]) {
      const step = event.shiftKey ? KEY_STEP * 5 : KEY_STEP;
      this.cursor = [
        Math.min(1, Math.max(0, this.cursor[0] + moves[event.key][0] * step)),
        Math.min(1, Math.max(0, this.cursor[1] + moves[event.key][1] * step)),
      ];
      event.preventDefault();
      this.renderCanvas();
    } else if (event.key === " " && this.drawing) {
      event.preventDefault();
      this.drawing.points.push(this.cursor.map(function (v) { return Math.round(v * 100000) / 100000; }));
      if (this.drawing.kind === "line" && this.drawing.points.length === 2) this.finish();
      else this.renderCanvas();
    } else if (event.key === "Enter" && this.drawing) {
      event.preventDefault();
      this.finish();
    } else if ((event.key === "Delete" || event.key === "Backspace") && !this.drawing && this.selected >= 0) {
      event.preventDefault();
      this.remove(this.selected);
    }
  };

  // ---------------------------------------------------------------- changing regions

  Editor.prototype.changed = function () {
    this.dirty = true;
    if (this.status) this.status.textContent = "Unsaved changes";
  };

  Editor.prototype.select = function (index) {
    this.selected = index;
    this.render();
  };

  Editor.prototype.remove = function (index) {
    if (!this.canEdit || index < 0) return;
    const gone = this.regions.splice(index, 1)[0];
    this.errors = {};
    this.selected = -1;
    this.changed();
    this.say(KIND_LABELS[gone.kind] + " " + gone.name + " deleted; Save to keep it so.");
    this.render();
  };

  Editor.prototype.swapInside = function () {
    const region = this.regions[this.selected];
    if (!region) return;
    region.inside = region.inside === "left" ? "right" : "left";
    this.changed();
    this.render();
  };

  Editor.prototype.addWindow = function () {
    const rule = this.rule("after_hours");
    if (!rule) return;
    rule.schedule.push({ days: DAYS.slice(0, 5), start: "08:00", end: "18:00" });
    this.changed();
    this.renderPanel();
  };

  Editor.prototype.removeWindow = function (index) {
    const rule = this.rule("after_hours");
    if (!rule || rule.schedule.length < 2) return;
    rule.schedule.splice(index, 1);
    this.changed();
    this.renderPanel();
  };

  Editor.prototype.rule = function (type) {
    const region = this.regions[this.selected];
    return region ? region.rules.find(function (r) { return r.type === type; }) : undefined;
  };

  Editor.prototype.edit = function (input) {
    const region = this.regions[this.selected];
    const field = input.dataset.field;
    if (!region || !field || !this.canEdit) return;
    if (field === "name") {
      region.name = input.value;
      this.renderList();
      this.renderCanvas();
    } else if (field === "inside") {
      region.inside = input.value;
      this.renderCanvas();
    } else if (field === "door") {
      region.door = input.value || null;
    } else if (field === "rule-on") {
      const type = input.dataset.rule;
      if (input.checked && !this.rule(type)) region.rules.push(defaultRule(type));
      if (!input.checked) region.rules = region.rules.filter(function (r) { return r.type !== type; });
      this.changed();
      this.renderPanel();
      return;
    } else if (field === "rule-value") {
      const rule = this.rule(input.dataset.rule);
      if (rule) rule[input.dataset.key] = numberOrText(input.value);
    } else if (field === "window-day" || field === "window-time") {
      const rule = this.rule("after_hours");
      const window = rule && rule.schedule[Number(input.dataset.window)];
      if (!window) return;
      if (field === "window-time") {
        window[input.dataset.key] = input.value;
      } else {
        const day = input.dataset.day;
        window.days = DAYS.filter(function (d) { return d === day ? input.checked : window.days.indexOf(d) >= 0; });
      }
    }
    this.changed();
  };

  // ---------------------------------------------------------------- saving

  Editor.prototype.save = function () {
    const self = this;
    if (!this.canEdit) return;
    if (this.drawing) this.finish();
    const token = this.root.querySelector("input[name=csrfmiddlewaretoken]").value;
    const body = JSON.stringify({ regions: this.regions });
    this.status.textContent = "Saving…";
    fetch(this.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: body,
    }).then(function (response) {
      const type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) {
        // A sign-in page or a refusal page instead of the editor's answer.
        return { ok: false, answer: { message: response.status === 403
          ? "you may not change this camera's drawing"
          : "the session may have ended; sign in again in another tab, then Save", field: null } };
      }
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      self.errors = {};
      if (result.ok) {
        self.regions = result.answer.regions.map(function (r) {
          (r.rules || []).forEach(function (rule) {
            (rule.schedule || []).forEach(function (w) { w.start = hhmm(w.start); w.end = hhmm(w.end); });
          });
          return r;
        });
        self.dirty = false;
        self.status.textContent = "Saved. The worker picks the change up at its next poll.";
        self.say("");
        self.root.dataset.saved = String(Date.now());
        self.render();
        return;
      }
      const field = result.answer.field || "";
      const found = /^regions\.(\d+)(?:\.(.*))?$/.exec(field);
      if (found) {
        const index = Number(found[1]);
        self.errors[index] = { message: result.answer.message, field: field, rest: found[2] || "" };
        self.status.textContent = "Not saved: " + self.describe(index) + ": " + result.answer.message;
        self.select(index);
      } else {
        self.status.textContent = "Not saved: " + result.answer.message;
        self.render();
      }
    }).catch(function () {
      self.status.textContent = "Not saved: the server cannot be reached; try again.";
    });
  };

  Editor.prototype.describe = function (index) {
    const region = this.regions[index];
    return region ? KIND_LABELS[region.kind] + " " + (region.name || index + 1) : "the drawing";
  };

  Editor.prototype.say = function (text) {
    if (this.hint) this.hint.textContent = text;
  };

  // ---------------------------------------------------------------- rendering

  Editor.prototype.render = function () {
    this.renderToolbar();
    this.renderCanvas();
    this.renderList();
    this.renderPanel();
  };

  Editor.prototype.renderToolbar = function () {
    const drawing = Boolean(this.drawing);
    const kind = drawing ? this.drawing.kind : null;
    this.root.querySelectorAll("[data-tool]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === kind));
    });
    this.root.querySelectorAll("[data-action=finish], [data-action=cancel]").forEach(function (button) {
      button.hidden = !drawing || (button.dataset.action === "finish" && kind === "line");
    });
    this.root.classList.toggle("is-drawing", drawing);
  };

  Editor.prototype.xy = function (point) {
    return (point[0] * WIDTH).toFixed(1) + "," + (point[1] * this.height).toFixed(1);
  };

  Editor.prototype.renderCanvas = function () {
    const self = this;
    const canvas = this.canvas;
    while (canvas.firstChild) canvas.removeChild(canvas.firstChild);
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrowhead", viewBox: "0 0 10 10", refX: "5", refY: "5", markerWidth: "5", markerHeight: "5", orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
    defs.appendChild(marker);
    const hatch = svg("pattern", { id: "hatch", width: "12", height: "12", patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    hatch.appendChild(svg("line", { x1: "0", y1: "0", x2: "0", y2: "12", class: "hatch-line" }));
    defs.appendChild(hatch);
    canvas.appendChild(defs);
    this.regions.forEach(function (region, index) {
      const group = svg("g", { class: "region region-" + region.kind + (index === self.selected ? " is-selected" : "") + (self.errors[index] ? " has-error" : ""), "data-index": String(index) });
      // A zone without points is the whole frame (drawn through the API).
      const corners = region.points.length ? region.points : [[0, 0], [1, 0], [1, 1], [0, 1]];
      const points = corners.map(function (p) { return self.xy(p); }).join(" ");
      if (region.kind === "line") {
        group.appendChild(svg("polyline", { points: points, class: "shape" }));
        self.drawArrow(group, region);
      } else {
        group.appendChild(svg("polygon", { points: points, class: "shape" }));
      }
      if (region.kind !== "mask") {
        const first = corners[0];
        const label = svg("text", { x: (first[0] * WIDTH + 6).toFixed(1), y: (first[1] * self.height - 6).toFixed(1), class: "region-label" });
        label.textContent = region.name;
        group.appendChild(label);
      }
      if (index === self.selected) {
        region.points.forEach(function (p, n) {
          group.appendChild(svg("circle", { cx: (p[0] * WIDTH).toFixed(1), cy: (p[1] * self.height).toFixed(1), r: "9", class: "vertex is-handle", "data-vertex": String(n) }));
        });
      }
      const title = svg("title");
      title.textContent = KIND_LABELS[region.kind] + " " + region.name;
      group.appendChild(title);
      canvas.appendChild(group);
    });
    if (this.drawing) {
      const d = this.drawing;
      const group = svg("g", { class: "drawing region-" + d.kind });
      if (d.points.length) {
        group.appendChild(svg("polyline", { points: d.points.map(function (p) { return self.xy(p); }).join(" "), class: "shape" }));
      }
      d.points.forEach(function (p) {
        group.appendChild(svg("circle", { cx: (p[0] * WIDTH).toFixed(1), cy: (p[1] * self.height).toFixed(1), r: "6", class: "vertex" }));
      });
      canvas.appendChild(group);
    }
    if (document.activeElement === canvas) {
      const c = this.cursor;
      const x = c[0] * WIDTH, y = c[1] * this.height;
      const cross = svg("g", { class: "key-cursor" });
      cross.appendChild(svg("line", { x1: (x - 14).toFixed(1), y1: y.toFixed(1), x2: (x + 14).toFixed(1), y2: y.toFixed(1) }));
      cross.appendChild(svg("line", { x1: x.toFixed(1), y1: (y - 14).toFixed(1), x2: x.toFixed(1), y2: (y + 14).toFixed(1) }));
      canvas.appendChild(cross);
    }
  };

  Editor.prototype.drawArrow = function (group, region) {
    // From the line's middle towards its inside: left of the line looking from its first point to
    // its second, in the picture (y down), is the normal (dy, -dx).
    const a = region.points[0], b = region.points[1];
    const ax = a[0] * WIDTH, ay = a[1] * this.height, bx = b[0] * WIDTH, by = b[1] * this.height;
    const length = Math.hypot(bx - ax, by - ay) || 1;
    let nx = (by - ay) / length, ny = -(bx - ax) / length;
    if (region.inside === "right") { nx = -nx; ny = -ny; }
    const mx = (ax + bx) / 2, my = (ay + by) / 2;
    const reach = 44;
    group.appendChild(svg("line", {
      x1: (mx - nx * reach * 0.4).toFixed(1), y1: (my - ny * reach * 0.4).toFixed(1),
      x2: (mx + nx * reach).toFixed(1), y2: (my + ny * reach).toFixed(1),
      class: "inside-arrow", "marker-end": "url(#arrowhead)", "data-inside": region.inside,
    }));
    // Kept inside the picture, so a line near the edge still says which side is inside.
    const wx = Math.min(WIDTH - 30, Math.max(30, mx + nx * (reach + 14)));
    const wy = Math.min(this.height - 10, Math.max(10, my + ny * (reach + 14)));
    const word = svg("text", { x: wx.toFixed(1), y: wy.toFixed(1), class: "inside-label" });
    word.textContent = "inside";
    group.appendChild(word);
  };

  Editor.prototype.renderList = function () {
    const self = this;
    const list = this.list;
    list.textContent = "";
    if (!this.regions.length) {
      list.appendChild(el("li", { className: "muted" }, "Nothing drawn yet." + (this.canEdit ? " Choose a tool above, then click on the picture." : "")));
      return;
    }
    this.regions.forEach(function (region, index) {
      const item = el("li", { className: "region-item" + (index === self.selected ? " is-selected" : ""), "data-region": String(index) });
      const button = el("button", { type: "button", className: "region-pick", "data-action": "select", "data-index": String(index), "aria-pressed": String(index === self.selected) });
      button.appendChild(el("span", { className: "tag tag-" + region.kind }, KIND_LABELS[region.kind]));
      button.appendChild(el("span", { className: "region-name" }, region.name));
      const rules = region.rules.map(function (r) { return r.type.replace(/_/g, " "); }).join(", ");
      if (rules) button.appendChild(el("span", { className: "muted small region-rules" }, rules));
      item.appendChild(button);
      if (self.errors[index]) {
        item.appendChild(el("p", { className: "field-error", "data-field-error": self.errors[index].field }, self.errors[index].message));
      }
      list.appendChild(item);
    });
  };

  Editor.prototype.renderPanel = function () {
    const panel = this.panel;
    panel.textContent = "";
    const region = this.regions[this.selected];
    if (!region) {
      panel.appendChild(el("p", { className: "muted" }, this.regions.length ? "Select a zone, line or mask to see its rules." : ""));
      return;
    }
    const disabled = !this.canEdit;
    const index = this.selected;
    const error = this.errors[index];
    panel.appendChild(el("h3", {}, KIND_LABELS[region.kind]));
    if (error) panel.appendChild(el("p", { className: "alert alert-error", role: "alert", "data-region-error": error.field }, error.message));
    if (region.kind !== "mask") {
      const field = el("div", { className: "field" + (error && error.rest === "name" ? " has-error" : "") });
      field.appendChild(el("label", { for: "region-name" }, "Name"));
      field.appendChild(el("input", { id: "region-name", type: "text", maxlength: "100", value: region.name, "data-field": "name", disabled: disabled }));
      panel.appendChild(field);
    } else {
      panel.appendChild(el("p", { className: "help" }, "The worker ignores movement inside a motion mask: a screen, a clock, a window onto the street."));
    }
    if (region.kind === "line") this.lineFields(panel, region, disabled, error);
    if (region.kind === "zone") this.zoneRules(panel, region, disabled, error);
    if (this.canEdit) {
      const actions = el("div", { className: "form-actions" });
      actions.appendChild(el("button", { type: "button", className: "btn btn-danger", "data-action": "delete" }, "Delete " + KIND_LABELS[region.kind].toLowerCase()));
      panel.appendChild(actions);
    }
  };

  Editor.prototype.lineFields = function (panel, region, disabled, error) {
    const inside = el("fieldset", { className: "segmented inside-side" });
    inside.appendChild(el("legend", {}, "Inside is on the arrow's side"));
    ["left", "right"].forEach(function (side) {
      const label = el("label", {});
      label.appendChild(el("input", { type: "radio", name: "region-inside", value: side, "data-field": "inside", checked: region.inside === side, disabled: disabled }));
      label.appendChild(document.createTextNode(side === "left" ? "Left of the line" : "Right of the line"));
      inside.appendChild(label);
    });
    panel.appendChild(inside);
    if (!disabled) panel.appendChild(el("button", { type: "button", className: "btn btn-secondary", "data-action": "swap-inside" }, "Swap the inside side"));
    panel.appendChild(el("p", { className: "help" }, "Looking from the line's first point to its second. A crossing towards the arrow is an entry."));
    const doorField = el("div", { className: "field" + (error && error.rest === "door" ? " has-error" : "") });
    doorField.appendChild(el("label", { for: "region-door" }, "Door it guards"));
    const select = el("select", { id: "region-door", "data-field": "door", disabled: disabled });
    select.appendChild(el("option", { value: "" }, "No door"));
    this.doors.forEach(function (door) {
      select.appendChild(el("option", { value: door.code, selected: region.door === door.code }, door.name + " (" + door.code + ")"));
    });
    doorField.appendChild(select);
    if (!this.doors.length) doorField.appendChild(el("p", { className: "help" }, "The camera's site has no doors yet."));
    panel.appendChild(doorField);
    const rules = el("fieldset", { className: "rules" });
    rules.appendChild(el("legend", {}, "Rules"));
    this.ruleRow(rules, region, "line_crossing", "Line crossing: record every crossing, with its direction", [], disabled, error);
    this.ruleRow(rules, region, "tailgating", "Tailgating: more people enter than the door granted badges within", [["window", "seconds", "0.5"]], disabled, error);
    panel.appendChild(rules);
  };

  Editor.prototype.zoneRules = function (panel, region, disabled, error) {
    const rules = el("fieldset", { className: "rules" });
    rules.appendChild(el("legend", {}, "Rules"));
    this.ruleRow(rules, region, "presence", "Presence: someone enters the zone", [], disabled, error);
    this.ruleRow(rules, region, "loitering", "Loitering: someone stays longer than", [["seconds", "seconds", "1"]], disabled, error);
    this.ruleRow(rules, region, "unattended", "Unattended object: an object stays, with nobody near, longer than", [["seconds", "seconds", "1"], ["distance", "pixels away at most for a person to count as near", "1"]], disabled, error);
    this.ruleRow(rules, region, "crowding", "Crowding: more people at once than", [["max_people", "people", "1"]], disabled, error);
    const row = this.ruleRow(rules, region, "after_hours", "After hours: someone is present outside these times", [], disabled, error);
    const rule = region.rules.find(function (r) { return r.type === "after_hours"; });
    if (rule) this.windows(row, rule, region.rules.indexOf(rule), disabled, error);
    panel.appendChild(rules);
  };

  Editor.prototype.ruleRow = function (parent, region, type, text, values, disabled, error) {
    const position = region.rules.findIndex(function (r) { return r.type === type; });
    const rule = region.rules[position];
    const wrong = error && position >= 0 && error.rest.indexOf("rules." + position) === 0;
    const row = el("div", { className: "rule-row" + (wrong ? " has-error" : ""), "data-rule-type": type });
    const id = "rule-" + type;
    const head = el("label", { className: "check", for: id });
    head.appendChild(el("input", { id: id, type: "checkbox", "data-field": "rule-on", "data-rule": type, checked: Boolean(rule), disabled: disabled }));
    head.appendChild(document.createTextNode(text));
    row.appendChild(head);
    if (rule) {
      values.forEach(function (spec) {
        const key = spec[0];
        const inputId = "rule-" + type + "-" + key;
        const field = el("div", { className: "rule-value" });
        field.appendChild(el("input", { id: inputId, type: "number", min: "0", step: spec[2], value: rule[key] === undefined ? "" : String(rule[key]), "data-field": "rule-value", "data-rule": type, "data-key": key, disabled: disabled, "aria-describedby": inputId + "-unit" }));
        field.appendChild(el("label", { for: inputId, id: inputId + "-unit" }, spec[1]));
        row.appendChild(field);
      });
    }
    if (wrong) row.appendChild(el("p", { className: "field-error", "data-field-error": error.field }, error.message));
    parent.appendChild(row);
    return row;
  };

  Editor.prototype.windows = function (row, rule, position, disabled, error) {
    rule.schedule.forEach(function (window, w) {
      const box = el("fieldset", { className: "window-row", "data-window": String(w) });
      box.appendChild(el("legend", { className: "visually-hidden" }, "Window " + (w + 1)));
      const days = el("div", { className: "day-picks" });
      DAYS.forEach(function (day) {
        const id = "window-" + w + "-" + day;
        const label = el("label", { className: "day", for: id });
        label.appendChild(el("input", { id: id, type: "checkbox", "data-field": "window-day", "data-window": String(w), "data-day": day, checked: window.days.indexOf(day) >= 0, disabled: disabled }));
        label.appendChild(el("span", {}, DAY_LABELS[day]));
        days.appendChild(label);
      });
      box.appendChild(days);
      const times = el("div", { className: "window-times" });
      ["start", "end"].forEach(function (key) {
        const id = "window-" + w + "-" + key;
        times.appendChild(el("label", { for: id, className: "visually-hidden" }, (key === "start" ? "From" : "To") + ", window " + (w + 1)));
        times.appendChild(el("input", { id: id, type: "time", value: window[key], "data-field": "window-time", "data-window": String(w), "data-key": key, disabled: disabled }));
        if (key === "start") times.appendChild(el("span", { "aria-hidden": "true" }, "to"));
      });
      if (!disabled && rule.schedule.length > 1) {
        times.appendChild(el("button", { type: "button", className: "btn btn-secondary", "data-action": "remove-window", "data-window": String(w) }, "Remove"));
      }
      box.appendChild(times);
      row.appendChild(box);
    });
    if (!disabled) row.appendChild(el("button", { type: "button", className: "btn btn-secondary", "data-action": "add-window" }, "Add a window"));
    row.appendChild(el("p", { className: "help" }, "In the site's time. A window ends before its end time."));
  };

  function init() {
    document.querySelectorAll("[data-editor]").forEach(function (root) { root.editor = new Editor(root); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
