// Keyboard shortcuts and the help overlay that lists them (generated from the same table, so
// the two cannot disagree).

export const SHORTCUTS = [
  { keys: ["1"], label: "All four views", action: "layout:all" },
  { keys: ["2"], label: "CC pair", action: "layout:cc" },
  { keys: ["3"], label: "MLO pair", action: "layout:mlo" },
  { keys: ["4"], label: "One view (press again for the next view)", action: "layout:single" },
  { keys: ["w"], label: "Next window preset", action: "preset:next" },
  { keys: ["W"], label: "Previous window preset", action: "preset:previous", display: "Shift+W" },
  { keys: ["i"], label: "Invert", action: "invert" },
  { keys: ["f"], label: "Fit to viewport", action: "fit" },
  { keys: ["x"], label: "1:1 (one image pixel per screen pixel)", action: "actual" },
  { keys: ["m"], label: "Magnifier loupe on/off", action: "loupe" },
  { keys: ["r"], label: "Reset zoom, window and invert", action: "reset" },
  { keys: ["Ctrl+Enter"], label: "Submit the reading", action: "submit" },
  { keys: ["n"], label: "Next exam (after submitting)", action: "next" },
  { keys: ["?", "h"], label: "Show or hide this help", action: "help" },
];

const MOUSE = [
  ["Left drag", "Pan (all views, mirrored)"],
  ["Right drag or Shift+left drag", "Window: right/left wider/narrower, down/up level"],
  ["Wheel", "Zoom about the pointer (all views)"],
  ["Double click", "One view / back to all four"],
];

function keyName(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) return "Ctrl+Enter";
  return event.key;
}

export function helpHtml() {
  const rows = SHORTCUTS.map((s) => `<tr><td>${(s.display ? [s.display] : s.keys).map((k) => `<kbd>${k}</kbd>`).join(" or ")}</td><td>${s.label}</td></tr>`);
  const mouse = MOUSE.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`);
  return `<h2>Shortcuts</h2><table>${rows.join("")}</table><h2>Mouse</h2><table>${mouse.join("")}</table><p><kbd>Esc</kbd> closes this help.</p>`;
}

// handlers: {action name: function}; help: the overlay element.
export function bindKeyboard(handlers, help) {
  help.innerHTML = helpHtml();
  const toggleHelp = (show = help.hidden) => {
    help.hidden = !show;
  };
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey) return;
    const name = keyName(event);
    if (name === "Escape" && !help.hidden) {
      toggleHelp(false);
      event.preventDefault();
      return;
    }
    // Typing in the form must not trigger image shortcuts; Ctrl+Enter works everywhere.
    const typing = event.target.closest && event.target.closest("input[type=number], input[type=text], textarea, select");
    if (typing && name !== "Ctrl+Enter") return;
    if ((event.ctrlKey || event.metaKey) && name !== "Ctrl+Enter") return;
    const shortcut = SHORTCUTS.find((s) => s.keys.includes(name));
    if (!shortcut) return;
    event.preventDefault();
    if (shortcut.action === "help") toggleHelp();
    else handlers[shortcut.action]();
  });
  return { toggleHelp };
}
