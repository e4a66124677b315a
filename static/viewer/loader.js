// Fetches an exam's four images (header, 8-bit preview, full-resolution stored values), uploads
// them to the GPU once, and keeps the most recent exams so that "next exam" is instantaneous
// when it was prefetched. Performance marks per image (for benchmarks/viewer.py):
// viewer:preview-decoded, viewer:received (pixels downloaded and inflated), viewer:reduced
// (levels built), viewer:uploaded.

async function fetchOk(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`GET ${url} failed: HTTP ${response.status}`);
  return response;
}

async function fetchHeader(url) {
  return (await fetchOk(url)).json();
}

async function fetchPreview(url) {
  const blob = await (await fetchOk(url)).blob();
  // No colour management or premultiplication: the preview's grey levels are data.
  return createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
}

// Workers fetch the stored values and build the reduced levels (pixels-worker.js); two of them,
// one per core of a modest workstation, shared by every exam.
class PixelWorkers {
  constructor(size = 2) {
    this.workers = Array.from({ length: size }, () => new Worker(new URL("./pixels-worker.js", import.meta.url)));
    this.pending = new Map();
    this.next = 0;
    this.sequence = 0;
    for (const worker of this.workers) {
      worker.onmessage = ({ data }) => {
        const job = this.pending.get(data.id);
        this.pending.delete(data.id);
        if (data.error) job.reject(new Error(data.error));
        else job.resolve(data);
      };
    }
  }

  // Starts the download at once; `header` (a promise) gives the shape when it arrives. Resolves
  // to [{width, height, data: Uint16Array}], level 0 being the stored image.
  load(url, header) {
    const id = ++this.sequence;
    const worker = this.workers[this.next++ % this.workers.length];
    const result = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    worker.postMessage({ type: "fetch", id, url: new URL(url, location.href).href });
    header.then(
      (h) => worker.postMessage({ type: "shape", id, rows: h.rows, columns: h.columns }),
      () => worker.postMessage({ type: "shape", id, rows: 0, columns: 0 }),
    );
    return result;
  }
}

let workers = null;

function fetchPixels(url, header) {
  workers = workers || new PixelWorkers();
  return workers.load(url, header);
}

// Marks the moments the worker reported (epoch ms) on this page's timeline.
function markTiming(imageId, timing) {
  for (const [name, epoch] of Object.entries(timing || {})) {
    performance.mark(`viewer:${name}:${imageId}`, { startTime: epoch - performance.timeOrigin });
  }
}

// One image of an exam; its promises settle as the pieces arrive and are uploaded.
class LoadingImage {
  constructor(spec, renderer) {
    this.id = spec.id;
    this.view = spec.view;
    this.header = null;
    this.preview = null; // GPU handle
    this.full = null; // GPU handle
    this.error = null;
    this.released = false; // evicted: data still in flight must not be uploaded
    this._renderer = renderer;
    this._spec = spec;
  }

  // pixelsAllowed: a promise; the full-resolution download waits for it (see ExamLoader.load).
  start(onChange, pixelsAllowed) {
    const spec = this._spec;
    // The page may carry the header inline (header_data); the endpoint serves the same JSON.
    const header = (spec.header_data ? Promise.resolve(spec.header_data) : fetchHeader(spec.header)).then((h) => {
      if (h.view !== spec.view) throw new Error(`image ${spec.id}: header says ${h.view}, exam lists ${spec.view}`);
      this.header = h;
      onChange(this, "header");
      return h;
    });
    const preview = Promise.all([header, fetchPreview(spec.preview)]).then(([, bitmap]) => {
      if (!this.full && !this.released) {
        performance.mark(`viewer:preview-decoded:${spec.id}`);
        this.preview = this._renderer.uploadPreview(bitmap);
        onChange(this, "preview");
      }
      bitmap.close();
    });
    this.previewDone = preview.catch(() => {});
    const full = pixelsAllowed
      .then(() => (this.released ? Promise.reject(new Error("evicted")) : fetchPixels(spec.pixels, header)))
      .then(({ levels, timing }) => {
        if (this.released) return;
        markTiming(spec.id, timing);
        this.full = this._renderer.uploadFull(this.header, levels);
        performance.mark(`viewer:uploaded:${spec.id}`);
        onChange(this, "full");
        // The preview is no longer drawn once the full image is there.
        this._renderer.release(this.preview);
        this.preview = null;
      });
    this.done = Promise.all([preview, full]).catch((error) => {
      if (this.released) return;
      this.error = error;
      onChange(this, "error");
    });
    return this;
  }

  release() {
    this.released = true;
    this._renderer.release(this.preview);
    this._renderer.release(this.full);
    this.preview = this.full = null;
  }
}

export class ExamLoader {
  constructor(renderer, { keep = 2 } = {}) {
    this.renderer = renderer;
    this.keep = keep; // exams held (current + prefetched)
    this.exams = new Map(); // exam id -> {images, listeners}
    workers = workers || new PixelWorkers(); // started now: ready when the previews are in
  }

  // Starts (or reuses) the loading of exam {id, images: [{id, view, header, preview, pixels}]}
  // (URLs; header_data, when present, is the header itself).
  // listener(image, what) is called for what in "header" | "preview" | "full" | "error"; events
  // that already happened are replayed so that a prefetched exam shows at once.
  load(exam, listener = () => {}) {
    let entry = this.exams.get(exam.id);
    if (!entry) {
      entry = { listeners: new Set(), images: [] };
      const notify = (image, what) => entry.listeners.forEach((l) => l(image, what));
      // The full-resolution downloads start once every preview has arrived (or failed): with few
      // cores, inflating 100 MB of pixels would otherwise delay the first paint.
      let allowPixels;
      const pixelsAllowed = new Promise((resolve) => {
        allowPixels = resolve;
      });
      entry.images = exam.images.map((spec) => new LoadingImage(spec, this.renderer).start(notify, pixelsAllowed));
      Promise.all(entry.images.map((image) => image.previewDone)).then(allowPixels);
      this.exams.set(exam.id, entry);
    } else {
      this.exams.delete(exam.id); // re-insert: most recently used last
      this.exams.set(exam.id, entry);
    }
    entry.listeners.clear();
    entry.listeners.add(listener);
    for (const image of entry.images) {
      if (image.header) listener(image, "header");
      if (image.full) listener(image, "full");
      else if (image.preview) listener(image, "preview");
      if (image.error) listener(image, "error");
    }
    this._evict(exam.id);
    return entry;
  }

  // Loads an exam in the background (nobody listens yet).
  prefetch(exam) {
    if (!this.exams.has(exam.id)) this.load(exam);
    this.exams.get(exam.id).listeners.clear();
    return Promise.all(this.exams.get(exam.id).images.map((i) => i.done));
  }

  _evict(currentId) {
    while (this.exams.size > this.keep) {
      const [oldest, entry] = this.exams.entries().next().value;
      if (oldest === currentId) break;
      entry.images.forEach((image) => image.release());
      this.exams.delete(oldest);
    }
  }
}
