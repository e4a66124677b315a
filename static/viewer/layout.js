// Hanging protocol: right breast on the viewer's left, left breast on the right, chest walls
// facing each other; top row R-CC | L-CC, bottom row R-MLO | L-MLO.

export const VIEWS = ["R-CC", "L-CC", "R-MLO", "L-MLO"];

export const LAYOUTS = {
  all: { label: "All four views", grid: [["R-CC", "L-CC"], ["R-MLO", "L-MLO"]] },
  cc: { label: "CC pair", grid: [["R-CC", "L-CC"]] },
  mlo: { label: "MLO pair", grid: [["R-MLO", "L-MLO"]] },
  single: { label: "One view", grid: null },
};

const GAP = 2; // device pixels between viewports

// Returns [{view, rect: {x, y, w, h}}] in integer device pixels for a canvas of width x height.
export function layoutViewports(layout, width, height, singleView = "R-CC") {
  if (!(layout in LAYOUTS)) throw new Error(`unknown layout "${layout}"`);
  const grid = LAYOUTS[layout].grid || [[singleView]];
  const rows = grid.length;
  const cols = grid[0].length;
  const cells = [];
  for (let r = 0; r < rows; r++) {
    const y0 = Math.round((r * (height + GAP)) / rows);
    const y1 = Math.round(((r + 1) * (height + GAP)) / rows) - GAP;
    for (let c = 0; c < cols; c++) {
      const x0 = Math.round((c * (width + GAP)) / cols);
      const x1 = Math.round(((c + 1) * (width + GAP)) / cols) - GAP;
      cells.push({ view: grid[r][c], rect: { x: x0, y: y0, w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) } });
    }
  }
  return cells;
}

// Chest wall side on screen: right-breast views face right (towards the centre), left-breast
// views face left. The image itself is mirrored for display by its flip_horizontal flag.
export function chestWallOnRight(view) {
  if (!VIEWS.includes(view)) throw new Error(`unknown view "${view}"`);
  return view.startsWith("R");
}

export function nextSingleView(current) {
  return VIEWS[(VIEWS.indexOf(current) + 1) % VIEWS.length];
}
