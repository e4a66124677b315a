// AI overlays of the reading workstation: the model's heatmap drawn over each view, with a toggle
// and an opacity slider, and the model's per-breast probability of malignancy.
//
// Contract (for main.js):
//
//   import { attachOverlays } from "./overlay.js";
//   const overlays = attachOverlays(workstation, context.ai_overlay, { panel: element });
//   ...on every exam switch:  overlays.update(context.ai_overlay);
//
// - workstation: the viewer's Workstation. Used: .root (the #viewer element), .canvas, .exam,
//   .viewports() (cells {view, rect, map, geometry} in canvas device pixels, where map gives
//   col = ax*X + bx, row = ay*Y + by for the stored image), .render and .requestRender(). The
//   overlay redraws after every workstation render (render is wrapped, and unwrapped by detach()).
// - ai_overlay: the server's value for the exam (readerstudy/predictions/overlay.py). null in an
//   unaided arm (and wherever no model output may be shown): then nothing at all is added to the
//   page. Otherwise {exam, model, demonstration, available, malignant: {left, right} | null,
//   views: {VIEW: {width, height, malignant: url, benign: url}}, message?}.
// - options.panel: where the controls go (default: appended to .reading-panel, else to the
//   workstation root). options.opacity: initial opacity 0..1 (default 0.5).
//
// Heatmaps are 8-bit greyscale PNGs covering the whole stored image (value/255 = probability), so
// they follow the view through the same stored-image -> canvas map as the pixels: pan, zoom,
// layout and the display mirroring all apply. Malignant is drawn red and benign green, the alpha
// of each pixel being its probability times the chosen opacity.
//
// State for tests: the workstation root gets data-ai-overlay = "shown" | "hidden" | "unavailable"
// (absent when ai_overlay is null); the overlay canvas gets data-drawn = the views drawn last.

const COLOURS = { malignant: [230, 40, 40], benign: [40, 200, 90] };
const KINDS = ["malignant", "benign"];

function percent(p) {
  return p === null || p === undefined ? "–" : `${Math.round(p * 100)} %`;
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`heatmap ${url} could not be loaded`));
    image.src = url;
  });
}

// The grey heatmap as a colour canvas whose alpha is the probability.
function colourise(image, [r, g, b]) {
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(image, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const px = data.data;
  for (let i = 0; i < px.length; i += 4) {
    const value = px[i];
    px[i] = r;
    px[i + 1] = g;
    px[i + 2] = b;
    px[i + 3] = value;
  }
  ctx.putImageData(data, 0, 0);
  return canvas;
}

class OverlayController {
  constructor(workstation, options) {
    this.workstation = workstation;
    this.options = options;
    this.config = null;
    this.shown = true;
    this.kind = "malignant";
    this.opacity = options.opacity ?? 0.5;
    this.layers = new Map(); // `${exam}:${view}:${kind}` -> colour canvas
    this.canvas = null;
    this.panel = null;
    this._originalRender = null;
  }

  update(config) {
    this.config = config || null;
    if (!this.config) {
      this._teardown();
      return;
    }
    this._ensureDom();
    this._fillPanel();
    this._loadLayers(this.config);
    this.workstation.requestRender();
  }

  detach() {
    this._teardown();
    if (this.workstation.aiOverlays === this) delete this.workstation.aiOverlays;
  }

  // ---- page elements -----------------------------------------------------------------------

  _ensureDom() {
    const ws = this.workstation;
    if (!this.canvas) {
      this.canvas = document.createElement("canvas");
      this.canvas.className = "ai-overlay-canvas";
      Object.assign(this.canvas.style, { position: "absolute", inset: "0", width: "100%", height: "100%", pointerEvents: "none" });
      // Above the images, below the view labels.
      const labels = ws.root.querySelector(".viewer-overlay");
      ws.root.insertBefore(this.canvas, labels || null);
    }
    if (!this._originalRender) {
      this._originalRender = ws.render;
      ws.render = (region) => {
        this._originalRender.call(ws, region);
        this.draw();
      };
    }
    if (!this.panel) {
      this.panel = document.createElement("section");
      this.panel.className = "ai-overlay-panel";
      this.panel.setAttribute("aria-label", "AI model output");
      const host = this.options.panel || document.querySelector(".reading-panel") || ws.root;
      host.appendChild(this.panel);
    }
  }

  _teardown() {
    if (this._originalRender) {
      this.workstation.render = this._originalRender;
      this._originalRender = null;
    }
    this.canvas?.remove();
    this.panel?.remove();
    this.canvas = null;
    this.panel = null;
    this.layers.clear();
    delete this.workstation.root.dataset.aiOverlay;
  }

  _fillPanel() {
    const c = this.config;
    const title = `AI model: ${c.model}${c.demonstration ? " (demonstration model, not diagnostic)" : ""}`;
    if (!c.available) {
      this.panel.innerHTML = "<h2></h2><p class=\"ai-message\"></p>";
      this.panel.querySelector("h2").textContent = title;
      this.panel.querySelector(".ai-message").textContent = c.message || "The model has no output for this exam.";
      this.workstation.root.dataset.aiOverlay = "unavailable";
      return;
    }
    const hasHeatmaps = Object.keys(c.views || {}).length > 0;
    this.panel.innerHTML = `
      <h2></h2>
      <p class="ai-probabilities">Probability of malignancy:
        <span data-side="right">right <strong></strong></span> ·
        <span data-side="left">left <strong></strong></span></p>
      ${hasHeatmaps ? `
      <label><input type="checkbox" class="ai-toggle"> Show heatmap</label>
      <label>Heatmap <select class="ai-kind"><option value="malignant">malignant</option><option value="benign">benign</option></select></label>
      <label>Opacity <input type="range" class="ai-opacity" min="0" max="100" step="1"></label>` : "<p>No heatmaps for this exam.</p>"}`;
    this.panel.querySelector("h2").textContent = title;
    this.panel.querySelector('[data-side="right"] strong').textContent = percent(c.malignant.right);
    this.panel.querySelector('[data-side="left"] strong').textContent = percent(c.malignant.left);
    if (hasHeatmaps) {
      const toggle = this.panel.querySelector(".ai-toggle");
      const kind = this.panel.querySelector(".ai-kind");
      const opacity = this.panel.querySelector(".ai-opacity");
      toggle.checked = this.shown;
      kind.value = this.kind;
      opacity.value = String(Math.round(this.opacity * 100));
      toggle.addEventListener("change", () => this.setShown(toggle.checked));
      kind.addEventListener("change", () => this.setKind(kind.value));
      opacity.addEventListener("input", () => this.setOpacity(Number(opacity.value) / 100));
    }
    this._publishState();
  }

  _publishState() {
    if (this.config && this.config.available) this.workstation.root.dataset.aiOverlay = this.shown ? "shown" : "hidden";
  }

  // ---- commands ----------------------------------------------------------------------------

  setShown(shown) {
    this.shown = Boolean(shown);
    this._publishState();
    this.workstation.requestRender();
  }

  setKind(kind) {
    if (!KINDS.includes(kind)) throw new Error(`unknown heatmap kind "${kind}"`);
    this.kind = kind;
    this.workstation.requestRender();
  }

  setOpacity(opacity) {
    this.opacity = Math.min(1, Math.max(0, opacity));
    this.workstation.requestRender();
  }

  // ---- heatmaps ----------------------------------------------------------------------------

  _loadLayers(config) {
    if (!config.available) return;
    for (const [view, urls] of Object.entries(config.views || {})) {
      for (const kind of KINDS) {
        const key = `${config.exam}:${view}:${kind}`;
        if (!urls[kind] || this.layers.has(key)) continue;
        this.layers.set(key, null); // loading
        loadImage(urls[kind])
          .then((image) => {
            this.layers.set(key, colourise(image, COLOURS[kind]));
            this.workstation.requestRender();
          })
          .catch((error) => {
            this.layers.delete(key);
            console.error(error);
          });
      }
    }
  }

  draw() {
    if (!this.canvas) return;
    const ws = this.workstation;
    const target = ws.canvas;
    if (this.canvas.width !== target.width || this.canvas.height !== target.height) {
      this.canvas.width = target.width;
      this.canvas.height = target.height;
    }
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    let drawn = 0;
    const c = this.config;
    if (c && c.available && this.shown && ws.exam && ws.exam.id === c.exam) {
      ctx.imageSmoothingEnabled = true;
      ctx.globalAlpha = this.opacity;
      for (const cell of ws.viewports()) {
        const layer = this.layers.get(`${c.exam}:${cell.view}:${this.kind}`);
        if (!layer || !cell.map || !cell.geometry) continue;
        const { ax, bx, ay, by } = cell.map;
        const { columns, rows } = cell.geometry;
        ctx.save();
        ctx.beginPath();
        ctx.rect(cell.rect.x, cell.rect.y, cell.rect.w, cell.rect.h);
        ctx.clip();
        // Heatmap pixel (u, v) covers stored pixel (u * columns / width, v * rows / height), which
        // the workstation's map puts at X = (col - bx) / ax, Y = (row - by) / ay.
        ctx.setTransform(columns / (layer.width * ax), 0, 0, rows / (layer.height * ay), -bx / ax, -by / ay);
        ctx.drawImage(layer, 0, 0);
        ctx.restore();
        drawn++;
      }
    }
    this.canvas.dataset.drawn = String(drawn);
  }
}

// Returns the controller; with a null ai_overlay it adds nothing to the page until update() is
// given a non-null value. Attaching again to the same workstation replaces the earlier controller
// (its canvas, panel and render hook go), so overlays are never drawn twice.
export function attachOverlays(workstation, aiOverlay, options = {}) {
  if (workstation.aiOverlays) workstation.aiOverlays.detach();
  const controller = new OverlayController(workstation, options);
  workstation.aiOverlays = controller;
  controller.update(aiOverlay);
  return controller;
}
