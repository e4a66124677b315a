// The image area of the reading workstation: one WebGL2 canvas holding every view of the current
// exam, mouse interaction (pan, zoom, window/level, loupe) and the on-image labels.
//
// Progress is published for tests and benchmarks on the root element (data-exam, data-state:
// "loading" | "previews" | "full" | "error") and as performance marks
// "viewer:previews:<exam>" and "viewer:full:<exam>", taken after the pixels are in the
// framebuffer.
import { Renderer } from "./gl.js";
import { LAYOUTS, VIEWS, layoutViewports, nextSingleView } from "./layout.js";
import { ExamLoader } from "./loader.js";
import { ViewState, actualPixelsAbout, commonFit, imageMap, loupeMap, pan, zoomAbout } from "./viewport.js";
import { ImageWindow } from "./windowing.js";

const LOUPE_CSS_SIZE = 260;
const EVERYTHING = { all: true }; // a full redraw request

function union(a, b) {
  if (!a) return b;
  if (!b) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

function intersect(a, b) {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.w, b.x + b.w) - x;
  const h = Math.min(a.y + a.h, b.y + b.h) - y;
  return w > 0 && h > 0 ? { x, y, w, h } : null;
}

// The device-pixel rectangle covered by the whole image under map (whole pixels, outwards).
function imageBounds(map, geometry) {
  const xs = [(0 - map.bx) / map.ax, (geometry.columns - map.bx) / map.ax];
  const ys = [(0 - map.by) / map.ay, (geometry.rows - map.by) / map.ay];
  const x = Math.floor(Math.min(...xs));
  const y = Math.floor(Math.min(...ys));
  return { x, y, w: Math.ceil(Math.max(...xs)) - x, h: Math.ceil(Math.max(...ys)) - y };
}

export class Workstation {
  constructor(root) {
    this.root = root;
    this.canvas = root.querySelector("canvas");
    this.overlay = root.querySelector(".viewer-overlay");
    this.renderer = new Renderer(this.canvas);
    this.loader = new ExamLoader(this.renderer);
    this.state = new ViewState();
    this.layout = "all";
    this.singleView = "R-CC";
    this.invert = false;
    this.loupe = { on: false, X: 0, Y: 0, rect: null };
    this.exam = null;
    this.images = new Map(); // view -> LoadingImage
    this.windows = new Map(); // view -> ImageWindow
    this.milestones = new Set();
    this.shown = new Map(); // view -> what its whole viewport last showed: "preview" | "full" | "nothing"
    this.listeners = { change: new Set() };
    this._frame = null;
    this._dirty = null;
    this._bindMouse();
    new ResizeObserver(() => this._resize()).observe(this.canvas);
    this._resize();
  }

  onChange(listener) {
    this.listeners.change.add(listener);
  }

  _changed() {
    this.listeners.change.forEach((l) => l(this));
  }

  get dpr() {
    return window.devicePixelRatio || 1;
  }

  _resize() {
    const width = Math.max(1, Math.round(this.canvas.clientWidth * this.dpr));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * this.dpr));
    this.renderer.resize(width, height);
    this.requestRender();
  }

  // ---- exams -------------------------------------------------------------------------------

  // exam: {id, label, images: [{id, view, header, preview, pixels (URLs), header_data (optional)}]}
  showExam(exam) {
    this.exam = exam;
    this.images = new Map();
    this.windows = new Map();
    this.milestones = new Set();
    this.shown = new Map();
    this.state.reset();
    this.root.dataset.exam = String(exam.id);
    this.root.dataset.state = "loading";
    delete this.root.dataset.error;
    const entry = this.loader.load(exam, (image, what) => this._imageEvent(exam, image, what));
    this.renderer.warmUp("preview");
    // A prefetched exam is complete already: draw it now rather than at the next frame.
    if (entry.images.every((image) => image.full)) this.renderNow();
    else this.requestRender();
  }

  prefetch(exam) {
    return this.loader.prefetch(exam);
  }

  _imageEvent(exam, image, what) {
    if (this.exam !== exam) return;
    if (what === "header") {
      this.images.set(image.view, image);
      if (!this.windows.has(image.view)) this.windows.set(image.view, new ImageWindow(image.header));
    } else if (what === "error") {
      this.root.dataset.state = "error";
      this.root.dataset.error = String(image.error.message || image.error);
      console.error(image.error);
    }
    // New data for one view redraw that view only; a new header may change the common scale.
    const cell = what === "preview" || what === "full" ? this.viewports().find((c) => c.view === image.view) : null;
    if (what === "preview" || what === "full") {
      if (cell) this.requestRender(cell.rect);
    } else {
      this.requestRender();
    }
    this._changed();
  }

  // ---- rendering ---------------------------------------------------------------------------

  viewports() {
    const cells = layoutViewports(this.layout, this.canvas.width, this.canvas.height, this.singleView).map((cell) => {
      const image = this.images.get(cell.view);
      const geometry = image && image.header
        ? { view: cell.view, columns: image.header.columns, rows: image.header.rows, flip: image.header.flip_horizontal }
        : null;
      return { ...cell, image, geometry };
    });
    const fit = commonFit(cells.filter((c) => c.geometry).map((c) => ({ rect: c.rect, image: c.geometry })));
    for (const cell of cells) {
      cell.fit = fit;
      cell.map = cell.geometry ? imageMap(cell.rect, cell.geometry, this.state, fit) : null;
    }
    return cells;
  }

  requestRender(dirty = null) {
    const region = dirty || EVERYTHING;
    if (this._dirty === null) this._dirty = region;
    else if (this._dirty !== EVERYTHING) this._dirty = region === EVERYTHING ? EVERYTHING : union(this._dirty, region);
    if (this._frame !== null) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = null;
      const pending = this._dirty;
      this._dirty = null;
      this.render(pending === EVERYTHING ? null : pending);
    });
  }

  // Draws now. region (device pixels) limits the redraw, e.g. to where the loupe was and is, or
  // to the one view whose data just arrived.
  render(region = null) {
    const full = { x: 0, y: 0, w: this.canvas.width, h: this.canvas.height };
    const area = region ? intersect(region, full) : full;
    if (!area) return;
    this.renderer.clear(area, 0.08);
    const cells = this.viewports();
    for (const cell of cells) {
      const rect = intersect(cell.rect, area);
      if (!rect) continue;
      const { image, map } = cell;
      this.renderer.clear(rect, 0);
      // Shade only where the image is: software rendering pays for every fragment.
      const drawn = map ? intersect(rect, imageBounds(map, cell.geometry)) : null;
      let shown = "nothing";
      if (image && image.full) {
        if (drawn) this.renderer.drawFull(drawn, map, image.full, this.windows.get(cell.view).uniforms(this.invert));
        shown = "full";
      } else if (image && image.preview) {
        if (drawn) this.renderer.drawPreview(drawn, map, image.preview, image.header.columns, image.header.rows, this.invert);
        shown = "preview";
      }
      if (rect.w === cell.rect.w && rect.h === cell.rect.h) this.shown.set(cell.view, shown);
    }
    this._drawLoupe(cells, area);
    this._publish(cells);
    this._updateOverlay(cells);
  }

  _drawLoupe(cells, area) {
    this.loupe.rect = null;
    if (!this.loupe.on || !this.exam) return;
    const cell = this._cellAt(cells, this.loupe.X, this.loupe.Y);
    if (!cell || !cell.image || !cell.image.full) return;
    const size = Math.round(LOUPE_CSS_SIZE * this.dpr);
    const { rect, map } = loupeMap(cell.map, this.loupe.X, this.loupe.Y, size);
    this.loupe.rect = rect;
    const clipped = intersect(rect, area);
    if (!clipped) return;
    this.renderer.clear(clipped, 0);
    this.renderer.drawFull(clipped, map, cell.image.full, this.windows.get(cell.view).uniforms(this.invert));
  }

  // Records the first time all shown views have their preview, then their full image, painted.
  _publish(cells) {
    if (!this.exam) return;
    // An exam may lack a view: its viewport stays empty and is not waited for.
    const wanted = cells.filter((c) => this.exam.images.some((i) => i.view === c.view)).map((c) => this.shown.get(c.view));
    const id = this.exam.id;
    const reached = [];
    if (wanted.every((s) => s === "full" || s === "preview") && !this.milestones.has("previews")) reached.push("previews");
    if (wanted.every((s) => s === "full") && !this.milestones.has("full")) reached.push("full");
    if (reached.length === 0) return;
    this.renderer.finish();
    if (reached.includes("previews")) this.renderer.warmUp("full");
    for (const name of reached) {
      this.milestones.add(name);
      performance.mark(`viewer:${name}:${id}`);
    }
    if (this.root.dataset.state !== "error") this.root.dataset.state = this.milestones.has("full") ? "full" : "previews";
    this._changed();
  }

  // Synchronous render that returns once the pixels are in the framebuffer (benchmarks, tests).
  renderNow() {
    if (this._frame !== null) {
      cancelAnimationFrame(this._frame);
      this._frame = null;
      this._dirty = null;
    }
    this.render();
    this.renderer.finish();
  }

  _updateOverlay(cells) {
    const dpr = this.dpr;
    const labels = [];
    for (const cell of cells) {
      const win = this.windows.get(cell.view);
      const outer = cell.view.startsWith("R") ? "left" : "right";
      const text = win
        ? `W ${Math.round(win.width)} / C ${Math.round(win.center)} · ${win.label}${this.state.actualPixels ? " · 1:1" : ""}`
        : "";
      labels.push(
        `<div class="viewer-label viewer-label-${outer}" data-view="${cell.view}" style="left:${cell.rect.x / dpr}px;top:${cell.rect.y / dpr}px;width:${cell.rect.w / dpr}px">` +
        `<strong>${cell.view}</strong><span class="viewer-window">${text}</span></div>`,
      );
    }
    const loupe = this.loupe.rect;
    if (loupe) {
      labels.push(`<div class="viewer-loupe" style="left:${loupe.x / dpr}px;top:${loupe.y / dpr}px;width:${loupe.w / dpr}px;height:${loupe.h / dpr}px"></div>`);
    }
    this.overlay.innerHTML = labels.join("");
  }

  // ---- commands ----------------------------------------------------------------------------

  setLayout(layout) {
    if (!(layout in LAYOUTS)) throw new Error(`unknown layout "${layout}"`);
    if (layout === "single" && this.layout === "single") this.singleView = nextSingleView(this.singleView);
    this.layout = layout;
    this.requestRender();
    this._changed();
  }

  showSingle(view) {
    if (!VIEWS.includes(view)) throw new Error(`unknown view "${view}"`);
    this.singleView = view;
    this.layout = "single";
    this.requestRender();
    this._changed();
  }

  toggleInvert() {
    this.invert = !this.invert;
    this.requestRender();
  }

  fit() {
    this.state.reset();
    this.requestRender();
  }

  // 1:1 about the centre of the first view (or the given device point).
  actualPixels(X = null, Y = null) {
    const cells = this.viewports();
    const cell = (X !== null && this._cellAt(cells, X, Y)) || cells.find((c) => c.geometry);
    if (!cell || !cell.geometry) return;
    const px = X !== null ? X : cell.rect.x + cell.rect.w / 2;
    const py = Y !== null ? Y : cell.rect.y + cell.rect.h / 2;
    actualPixelsAbout(this.state, cell.rect, cell.geometry, cell.fit, px, py);
    this.requestRender();
  }

  reset() {
    this.state.reset();
    this.invert = false;
    this.windows.forEach((w) => w.select(0));
    this.requestRender();
    this._changed();
  }

  // Moves every view to its next (step 1) or previous (-1) window preset.
  cyclePreset(step = 1) {
    this.windows.forEach((w) => w.select(w.presetIndex + step));
    this.requestRender();
    this._changed();
  }

  adjustWindow(dxCss, dyCss) {
    // Right/left: wider/narrower; down/up: higher/lower centre (darker/brighter).
    this.windows.forEach((w) => {
      const step = w.dragStep();
      w.adjust(dyCss * step, dxCss * step);
    });
    this.requestRender();
    this._changed();
  }

  toggleLoupe() {
    this.loupe.on = !this.loupe.on;
    this.requestRender();
  }

  windowOf(view) {
    const w = this.windows.get(view);
    return w ? { mode: w.mode, center: w.center, width: w.width, label: w.label, presetIndex: w.presetIndex } : null;
  }

  // Centre of the stored pixel (col, row) of a view in canvas device pixels (null if not shown).
  imageToCanvas(view, col, row) {
    const cell = this.viewports().find((c) => c.view === view);
    if (!cell || !cell.map) return null;
    return { X: (col + 0.5 - cell.map.bx) / cell.map.ax, Y: (row + 0.5 - cell.map.by) / cell.map.ay };
  }

  // The same point in CSS pixels of the page (for pointer events).
  imageToClient(view, col, row) {
    const p = this.imageToCanvas(view, col, row);
    if (!p) return null;
    const box = this.canvas.getBoundingClientRect();
    return { x: box.left + p.X / this.dpr, y: box.top + p.Y / this.dpr };
  }

  viewportRect(view) {
    const cell = this.viewports().find((c) => c.view === view);
    return cell ? { ...cell.rect } : null;
  }

  zoomOf(view) {
    const cell = this.viewports().find((c) => c.view === view);
    return cell && cell.map ? cell.map.scale : null;
  }

  // ---- mouse -------------------------------------------------------------------------------

  _cellAt(cells, X, Y) {
    return cells.find((c) => X >= c.rect.x && Y >= c.rect.y && X < c.rect.x + c.rect.w && Y < c.rect.y + c.rect.h);
  }

  _devicePoint(event) {
    const box = this.canvas.getBoundingClientRect();
    return { X: (event.clientX - box.left) * this.dpr, Y: (event.clientY - box.top) * this.dpr };
  }

  _bindMouse() {
    const canvas = this.canvas;
    let drag = null;
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const { X, Y } = this._devicePoint(e);
      const cell = this._cellAt(this.viewports(), X, Y);
      if (!cell || !cell.geometry) return;
      zoomAbout(this.state, cell.rect, cell.geometry, cell.fit, X, Y, Math.pow(1.0015, -e.deltaY));
      this.requestRender();
    }, { passive: false });
    canvas.addEventListener("pointerdown", (e) => {
      const { X, Y } = this._devicePoint(e);
      const cell = this._cellAt(this.viewports(), X, Y);
      if (!cell) return;
      // Left button pans; right button (or shift + left) adjusts the window.
      const kind = e.button === 2 || (e.button === 0 && e.shiftKey) ? "window" : e.button === 0 ? "pan" : null;
      if (!kind) return;
      canvas.setPointerCapture(e.pointerId);
      drag = { kind, cell, x: e.clientX, y: e.clientY };
    });
    canvas.addEventListener("pointermove", (e) => {
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        drag.x = e.clientX;
        drag.y = e.clientY;
        if (drag.kind === "pan") {
          pan(this.state, drag.cell.rect, drag.cell.view, dx * this.dpr, dy * this.dpr);
          this.requestRender();
        } else {
          this.adjustWindow(dx, dy);
        }
      }
      if (this.loupe.on) {
        const { X, Y } = this._devicePoint(e);
        const before = this.loupe.rect;
        this.loupe.X = X;
        this.loupe.Y = Y;
        const size = Math.round(LOUPE_CSS_SIZE * this.dpr);
        const after = { x: Math.round(X - size / 2), y: Math.round(Y - size / 2), w: size, h: size };
        this.requestRender(drag ? null : union(before, after));
      }
    });
    const end = (e) => {
      if (drag && canvas.hasPointerCapture(e.pointerId)) canvas.releasePointerCapture(e.pointerId);
      drag = null;
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("dblclick", (e) => {
      const { X, Y } = this._devicePoint(e);
      const cell = this._cellAt(this.viewports(), X, Y);
      if (!cell) return;
      if (this.layout === "single") this.setLayout("all");
      else this.showSingle(cell.view);
    });
  }
}
