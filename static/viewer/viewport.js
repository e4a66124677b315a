// Zoom and pan shared by every view, mirrored between the breasts.
//
// Each view is handled in "canonical" coordinates where the chest wall is on the left: a
// right-breast view (chest wall on the screen's right) is mirrored into that frame. The shared
// state is then one zoom and one offset, so a pan towards the chest wall in one view pans
// towards the chest wall in the other.
import { chestWallOnRight } from "./layout.js";

export class ViewState {
  constructor() {
    this.reset();
  }

  reset() {
    this.zoom = 1; // relative to fit
    this.actualPixels = false; // 1:1, one image pixel per device pixel
    this.tx = 0; // canonical offset of the image, in viewport widths
    this.ty = 0; // vertical offset from the centred position, in viewport heights
  }
}

// The scale at which every shown image fits its viewport: one scale for all views, so that
// both breasts and both projections appear at the same magnification.
// cells: [{rect, image}] with image {columns, rows}.
export function commonFit(cells) {
  const scales = cells.map(({ rect, image }) => Math.min(rect.w / image.columns, rect.h / image.rows));
  return scales.length ? Math.min(...scales) : 1;
}

// Device pixels per image pixel, and the canonical translation in device pixels.
function placement(rect, image, state, fit) {
  const scale = state.actualPixels ? 1 : fit * state.zoom;
  let tx = state.tx * rect.w;
  let ty = (rect.h - image.rows * scale) / 2 + state.ty * rect.h;
  if (state.actualPixels) {
    // Whole-pixel offsets so that each device pixel shows exactly one stored pixel.
    tx = Math.round(tx);
    ty = Math.round(ty);
  }
  return { scale, tx, ty };
}

// image: {view, columns, rows, flip} (flip = header.flip_horizontal); fit: commonFit(...).
// Returns {ax, bx, ay, by}: col = ax*X + bx, row = ay*Y + by, X and Y canvas device pixels.
export function imageMap(rect, image, state, fit) {
  const { scale, tx, ty } = placement(rect, image, state, fit);
  const mirror = chestWallOnRight(image.view);
  // screen -> canonical: cx = m1*X + c1; canonical -> image: ix = (cx - tx) / scale
  const m1 = mirror ? -1 : 1;
  const c1 = mirror ? rect.x + rect.w : -rect.x;
  // canonical image x -> displayed x (chest wall first) -> stored column (undo the display flip)
  const m2 = image.flip ? -1 : 1;
  const ax = (m2 * m1 * m1) / scale;
  const bx = m2 * ((m1 * (c1 - tx)) / scale + (mirror ? image.columns : 0)) + (image.flip ? image.columns : 0);
  const ay = 1 / scale;
  const by = (-rect.y - ty) / scale;
  return { ax, bx, ay, by, scale };
}

export function deviceToImage(map, X, Y) {
  return { col: map.ax * X + map.bx, row: map.ay * Y + map.by };
}

export function imageToDevice(map, col, row) {
  return { X: (col - map.bx) / map.ax, Y: (row - map.by) / map.ay };
}

// Zoom by factor about the device point (X, Y) of the view in rect, keeping the image point
// under it fixed; all views follow through the shared state.
export function zoomAbout(state, rect, image, fit, X, Y, factor) {
  const before = placement(rect, image, state, fit);
  const scale = before.scale * factor;
  const cx = chestWallOnRight(image.view) ? rect.x + rect.w - X : X - rect.x;
  const cy = Y - rect.y;
  const tx = cx - (cx - before.tx) * factor;
  const ty = cy - (cy - before.ty) * factor;
  state.actualPixels = false;
  state.zoom = scale / fit;
  state.tx = tx / rect.w;
  state.ty = (ty - (rect.h - image.rows * scale) / 2) / rect.h;
}

// Switch to 1:1 keeping the image point under (X, Y) where it is.
export function actualPixelsAbout(state, rect, image, fit, X, Y) {
  const before = placement(rect, image, state, fit);
  zoomAbout(state, rect, image, fit, X, Y, 1 / before.scale);
  state.actualPixels = true;
}

export function pan(state, rect, view, dX, dY) {
  state.tx += (chestWallOnRight(view) ? -dX : dX) / rect.w;
  state.ty += dY / rect.h;
}

// The loupe: a square of side `size` centred on (X, Y) that shows the image at `magnification`
// times the view's scale, never below one stored pixel per device pixel.
export function loupeMap(viewMap, X, Y, size, magnification = 2) {
  const scale = Math.max(1, viewMap.scale * magnification);
  const { col, row } = deviceToImage(viewMap, X, Y);
  const ax = Math.sign(viewMap.ax) / scale;
  const ay = 1 / scale;
  const rect = {
    x: Math.round(X - size / 2),
    y: Math.round(Y - size / 2),
    w: size,
    h: size,
  };
  return { rect, map: { ax, bx: col - ax * X, ay, by: row - ay * Y, scale } };
}
