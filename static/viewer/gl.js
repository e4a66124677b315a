// WebGL2 plumbing: one context for the whole canvas, one R16UI texture per full-resolution image
// (uploaded once), one R8 texture per preview, and draws clipped to a viewport rectangle.
import {
  FULL_FRAGMENT_SOURCE,
  PREVIEW_FRAGMENT_SOURCE,
  VERTEX_SOURCE,
  VOI_LUT,
} from "./shaders.js";

const LUT_WIDTH = 4096; // texels per row of the VOI LUT texture; matches shaders.js

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  return shader;
}

function link(gl, fragmentSource) {
  const program = gl.createProgram();
  gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX_SOURCE));
  gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, fragmentSource));
  gl.bindAttribLocation(program, 0, "a_position");
  gl.linkProgram(program);
  return program;
}

// Querying a program waits for its compilation, which software rendering makes slow: it is done
// at the first draw, so that compiling overlaps the first downloads.
function ready(gl, linked) {
  if (linked.uniforms) return linked;
  const { program } = linked;
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    const shaders = gl.getAttachedShaders(program).map((s) => gl.getShaderInfoLog(s)).filter(Boolean);
    throw new Error(`shader program failed: ${gl.getProgramInfoLog(program)} ${shaders.join(" ")}`);
  }
  const uniforms = {};
  const count = gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS);
  for (let i = 0; i < count; i++) {
    const name = gl.getActiveUniform(program, i).name;
    uniforms[name] = gl.getUniformLocation(program, name);
  }
  linked.uniforms = uniforms;
  return linked;
}

export class Renderer {
  constructor(canvas) {
    const gl = canvas.getContext("webgl2", {
      alpha: false,
      antialias: false,
      depth: false,
      stencil: false,
      premultipliedAlpha: false,
      // Kept so that a partial redraw (the loupe, one view) leaves the other views in place.
      preserveDrawingBuffer: true,
    });
    if (!gl) throw new Error("WebGL2 is not available in this browser");
    this.canvas = canvas;
    this.gl = gl;
    this.maxTextureSize = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    // Only the preview program now: the GPU process works in order, and compiling the full
    // program (warmUp("full")) would hold up the first paint.
    this.preview = { program: link(gl, PREVIEW_FRAGMENT_SOURCE) };
    this.full = null;
    gl.flush();

    // One triangle that covers clip space; the scissor box limits it to a viewport.
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);

    // Samplers of different types may not share a unit: the LUT lives on unit 1, with a 1x1
    // placeholder bound when an image has no VOI LUT.
    this.emptyLut = this._lutTexture(new Float32Array([0]));
    gl.enable(gl.SCISSOR_TEST);
    this.warm = new Set();
  }

  // Software rendering compiles a program when it is first queried and specialises it at its
  // first draw, blocking this thread for a while. One-pixel draws do that early: the preview
  // program's once the first downloads have started, the full program's once the previews are
  // on screen (while the full-resolution data are on their way).
  warmUp(which) {
    if (this.warm.has(which)) return;
    this.warm.add(which);
    const gl = this.gl;
    const pixel = { x: 0, y: 0, w: 1, h: 1 };
    const map = { ax: 1, bx: 0, ay: 1, by: 0 };
    if (which === "preview") {
      // Same format and sampling as a real preview, so that the specialised code is reused.
      const texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texStorage2D(gl.TEXTURE_2D, 2, gl.R8, 2, 2);
      this._previewSampling();
      this.drawPreview(pixel, map, { texture }, 1, 1, false);
      gl.flush();
      gl.deleteTexture(texture);
    } else {
      const one = { width: 1, height: 1, data: new Uint16Array(1) };
      const handle = this.uploadFull({ columns: 1, rows: 1, voi_lut: null }, [one]);
      this.drawFull(pixel, map, handle, { mode: 0, center: 0, width: 1, slope: 1, intercept: 0, lutFirst: 0, invert: false });
      gl.flush();
      this.release(handle);
    }
  }

  resize(width, height) {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.gl.viewport(0, 0, width, height);
  }

  _lutTexture(values) {
    const gl = this.gl;
    const rows = Math.max(1, Math.ceil(values.length / LUT_WIDTH));
    const width = rows === 1 ? values.length : LUT_WIDTH;
    const padded = new Float32Array(width * rows);
    padded.set(values);
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.R32F, width, rows);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, rows, gl.RED, gl.FLOAT, padded);
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.NEAREST);
    return texture;
  }

  // Uploads the stored values of one image once: levels[0] is the image (Uint16Array, row-major),
  // the others its successive halvings (see pixels-worker.js). Returns a handle.
  uploadFull(header, levels) {
    const gl = this.gl;
    const { columns, rows } = header;
    if (columns > this.maxTextureSize || rows > this.maxTextureSize) {
      throw new Error(`image of ${columns} x ${rows} exceeds this GPU's texture limit of ${this.maxTextureSize}`);
    }
    levels.forEach((level, i) => {
      if (level.width !== Math.max(1, columns >> i) || level.height !== Math.max(1, rows >> i) || level.data.length !== level.width * level.height) {
        throw new Error(`level ${i} of the pixel data is ${level.width} x ${level.height}, expected ${columns >> i} x ${rows >> i}`);
      }
    });
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 2);
    gl.texStorage2D(gl.TEXTURE_2D, levels.length, gl.R16UI, columns, rows);
    levels.forEach((level, i) => {
      gl.texSubImage2D(gl.TEXTURE_2D, i, 0, 0, level.width, level.height, gl.RED_INTEGER, gl.UNSIGNED_SHORT, level.data);
    });
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAX_LEVEL, levels.length - 1);
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.NEAREST);
    for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, p, gl.CLAMP_TO_EDGE);
    let lut = null;
    if (header.voi_lut) {
      const scale = 2 ** header.voi_lut.bits - 1;
      lut = this._lutTexture(Float32Array.from(header.voi_lut.data, (v) => v / scale));
    }
    return {
      texture,
      lut,
      columns,
      rows,
      levels: levels.length,
      lutCount: header.voi_lut ? header.voi_lut.data.length : 0,
    };
  }

  // Uploads an 8-bit preview (ImageBitmap); sampled with mipmaps, it is a display aid only.
  uploadPreview(bitmap) {
    const gl = this.gl;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, gl.RED, gl.UNSIGNED_BYTE, bitmap);
    gl.generateMipmap(gl.TEXTURE_2D);
    this._previewSampling();
    return { texture };
  }

  _previewSampling() {
    const gl = this.gl;
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, p, gl.CLAMP_TO_EDGE);
  }

  release(handle) {
    if (!handle) return;
    this.gl.deleteTexture(handle.texture);
    if (handle.lut) this.gl.deleteTexture(handle.lut);
  }

  // rect: device pixels, origin top-left. map: {ax, bx, ay, by} with col = ax*X + bx and
  // row = ay*Y + by for device pixel centres (X, Y) measured from the canvas's top-left corner.
  _scissor(rect) {
    const h = this.canvas.height;
    this.gl.scissor(rect.x, h - rect.y - rect.h, rect.w, rect.h);
  }

  _setMap(uniforms, map, columns, rows) {
    // GL's fragment y grows upwards: Y = height - fragY.
    const h = this.canvas.height;
    this.gl.uniform4f(uniforms.u_map, map.ax, map.bx, -map.ay, map.ay * h + map.by);
    this.gl.uniform2f(uniforms.u_size, columns, rows);
  }

  clear(rect, gray = 0) {
    const gl = this.gl;
    this._scissor(rect);
    gl.clearColor(gray, gray, gray, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
  }

  // voi: {mode, center, width, slope, intercept, lutFirst, invert}
  drawFull(rect, map, handle, voi) {
    const gl = this.gl;
    this.full = this.full || { program: link(gl, FULL_FRAGMENT_SOURCE) };
    const { program, uniforms: u } = ready(gl, this.full);
    gl.useProgram(program);
    gl.bindVertexArray(this.vao);
    this._scissor(rect);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, handle.texture);
    gl.uniform1i(u.u_image, 0);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, voi.mode === VOI_LUT && handle.lut ? handle.lut : this.emptyLut);
    gl.uniform1i(u.u_lut, 1);
    gl.uniform1i(u.u_mode, voi.mode);
    gl.uniform1f(u.u_slope, voi.slope);
    gl.uniform1f(u.u_intercept, voi.intercept);
    gl.uniform1f(u.u_center, voi.center);
    gl.uniform1f(u.u_width, voi.width);
    gl.uniform1f(u.u_lut_first, voi.lutFirst);
    gl.uniform1i(u.u_lut_count, Math.max(1, handle.lutCount));
    gl.uniform1i(u.u_invert, voi.invert ? 1 : 0);
    // Shown smaller than 1:1: read the reduced level with about one texel per device pixel
    // (2 x 2 samples when the ratio falls between levels), so one draw costs about the same at
    // any zoom.
    const ratio = Math.abs(map.ax); // stored pixels per device pixel
    const level = ratio > 1 ? Math.min(handle.levels - 1, Math.floor(Math.log2(ratio) + 1e-9)) : 0;
    gl.uniform1i(u.u_level, level);
    gl.uniform1i(u.u_taps, ratio / 2 ** level > 1.25 ? 2 : 1);
    this._setMap(u, map, handle.columns, handle.rows);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  drawPreview(rect, map, handle, columns, rows, invert) {
    const gl = this.gl;
    const { program, uniforms: u } = ready(gl, this.preview);
    gl.useProgram(program);
    gl.bindVertexArray(this.vao);
    this._scissor(rect);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, handle.texture);
    gl.uniform1i(u.u_preview, 0);
    gl.uniform1i(u.u_invert, invert ? 1 : 0);
    this._setMap(u, map, columns, rows);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  // Blocks until every queued draw has reached the framebuffer (a one-pixel read-back), so that
  // timing marks mean "pixels are there", not "commands were queued".
  finish() {
    const gl = this.gl;
    const pixel = new Uint8Array(4);
    gl.scissor(0, 0, 1, 1);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
  }
}
