// Off the main thread: fetch an image's stored values (the browser inflates the gzip), put its two
// byte planes back together (low bytes of all values, then high bytes; see exams/derivatives.py)
// and build the reduced levels used when a view is shown smaller than 1:1. Each level halves the previous
// one with 2 x 2 means of the stored values, as a mipmap does; 1:1, zoom and the loupe read
// level 0, the untouched data.

const SMALLEST_LEVEL = 256; // stop once the longer side is this small

// value = low + 256 * high, for every pixel.
function interleave(planes, count) {
  const low = new Uint8Array(planes, 0, count);
  const high = new Uint8Array(planes, count, count);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = low[i] | (high[i] << 8);
  return out;
}

function halve(source, width, height) {
  const w = width >> 1;
  const h = height >> 1;
  const out = new Uint16Array(w * h);
  for (let y = 0; y < h; y++) {
    const top = 2 * y * width;
    const bottom = top + width;
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = 2 * x;
      out[row + x] = (source[top + i] + source[top + i + 1] + source[bottom + i] + source[bottom + i + 1] + 2) >> 2;
    }
  }
  return out;
}

// A job starts with {type: "fetch", id, url}, sent before the image's header has arrived so
// that the download starts at once, and continues with {type: "shape", id, rows, columns}.
const jobs = new Map();

function job(id) {
  if (!jobs.has(id)) {
    let setShape;
    const shape = new Promise((resolve) => {
      setShape = resolve;
    });
    jobs.set(id, { shape, setShape });
  }
  return jobs.get(id);
}

async function load(id, url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`GET ${url} failed: HTTP ${response.status}`);
  const buffer = await response.arrayBuffer();
  const received = performance.timeOrigin + performance.now();
  const { rows, columns } = await job(id).shape;
  const expected = rows * columns * 2;
  if (buffer.byteLength !== expected) {
    throw new Error(`${url}: ${buffer.byteLength} bytes, expected ${expected} (${columns} x ${rows} x 16 bits)`);
  }
  const levels = [{ width: columns, height: rows, data: interleave(buffer, rows * columns) }];
  while (Math.max(levels.at(-1).width, levels.at(-1).height) > SMALLEST_LEVEL) {
    const last = levels.at(-1);
    if (last.width < 2 || last.height < 2) break;
    levels.push({ width: last.width >> 1, height: last.height >> 1, data: halve(last.data, last.width, last.height) });
  }
  const timing = { received, reduced: performance.timeOrigin + performance.now() }; // epoch ms
  postMessage({ id, levels, timing }, levels.map((l) => l.data.buffer));
}

onmessage = ({ data }) => {
  if (data.type === "shape") {
    job(data.id).setShape(data);
    return;
  }
  job(data.id);
  load(data.id, data.url)
    .catch((error) => postMessage({ id: data.id, error: String(error.message || error) }))
    .finally(() => jobs.delete(data.id));
};
