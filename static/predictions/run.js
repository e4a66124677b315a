// Live progress of a model run: polls the progress endpoint every 1.5 s until the run is finished,
// then reloads once so the page shows the final state (status, failures, no cancel button).
const POLL_MS = 1500;
const root = document.getElementById("run-progress");

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return s < 90 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function show(progress) {
  const fields = { ...progress, eta_seconds: formatSeconds(progress.eta_seconds) };
  for (const node of root.querySelectorAll("[data-field]")) {
    const value = fields[node.dataset.field];
    node.textContent = value === null || value === undefined ? "–" : String(value);
  }
  const bar = document.getElementById("run-bar");
  bar.max = progress.total;
  bar.value = progress.done + progress.failed;
}

async function poll() {
  try {
    const response = await fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const progress = await response.json();
    show(progress);
    if (progress.finished) {
      window.location.reload();
      return;
    }
  } catch (error) {
    root.dataset.error = String(error.message || error);
  }
  setTimeout(poll, POLL_MS);
}

if (root && root.dataset.finished !== "true") setTimeout(poll, POLL_MS);
