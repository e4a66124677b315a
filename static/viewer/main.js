// Entry point of the reading page: wires the image workstation, the reading form and the
// keyboard to the exam context the server embeds in #viewer-config, and moves to the next exam
// in place (its images prefetched while the reader reads).
import { bindKeyboard } from "./keyboard.js";
import { ReadingForm } from "./form.js";
import { Workstation } from "./workstation.js";
import { attachOverlays } from "./overlay.js";

function readContext() {
  const node = document.getElementById("viewer-config");
  if (!node) throw new Error("the page has no #viewer-config");
  return JSON.parse(node.textContent);
}

class ReadingPage {
  constructor(context) {
    this.viewerRoot = document.getElementById("viewer");
    this.workstation = new Workstation(this.viewerRoot);
    this.overlays = attachOverlays(this.workstation, null);
    this.form = new ReadingForm(document.getElementById("reading-form"), document.getElementById("reading-status"), {
      // The submit answer carries the assignment's new progress.
      onSubmitted: (reading) => {
        if (reading.progress) this.context.assignment.done = reading.progress.done;
        this._updateControls();
      },
    });
    this.nextButton = document.getElementById("next-exam");
    this.submitButton = document.getElementById("submit-reading");
    this.nextButton.addEventListener("click", () => this.next());
    this.submitButton.addEventListener("click", () => this.form.submit());
    this.workstation.onChange(() => this._maybePrefetch());
    const help = document.getElementById("viewer-help");
    document.getElementById("show-help").addEventListener("click", () => keyboard.toggleHelp());
    const keyboard = bindKeyboard(
      {
        "layout:all": () => this.workstation.setLayout("all"),
        "layout:cc": () => this.workstation.setLayout("cc"),
        "layout:mlo": () => this.workstation.setLayout("mlo"),
        "layout:single": () => this.workstation.setLayout("single"),
        "preset:next": () => this.workstation.cyclePreset(1),
        "preset:previous": () => this.workstation.cyclePreset(-1),
        invert: () => this.workstation.toggleInvert(),
        fit: () => this.workstation.fit(),
        actual: () => this.workstation.actualPixels(),
        loupe: () => this.workstation.toggleLoupe(),
        reset: () => this.workstation.reset(),
        submit: () => this.form.submit(),
        next: () => this.next(),
      },
      help,
    );
    window.addEventListener("popstate", () => window.location.reload());
    this.show(context);
  }

  show(context, imagesShown = false) {
    this.context = context;
    if (!imagesShown) this.workstation.showExam(context.exam);
    this.overlays.update(context.ai_overlay);
    this.form.load(context);
    // context.ai_overlay (null here) is where the AI-aided arm's model output comes in.
    document.getElementById("exam-label").textContent = context.exam.label;
    document.getElementById("exam-position").textContent = `${context.exam.position} of ${context.assignment.total}`;
    this._prefetched = false;
    this._updateControls();
    this._maybePrefetch(); // a prefetched exam may be complete already
  }

  _updateControls() {
    const submitted = this.form.locked;
    this.submitButton.disabled = submitted;
    this.nextButton.disabled = !submitted;
    this.nextButton.textContent = this.context.next ? "Next exam" : "Back to worklist";
    const { done, total } = this.context.assignment;
    document.getElementById("assignment-progress").textContent = `${done} of ${total} submitted`;
  }

  // Loads the next exam's images once the current one is complete.
  _maybePrefetch() {
    const shown = this.viewerRoot.dataset;
    if (this._prefetched || !this.context.next || shown.state !== "full" || shown.exam !== String(this.context.exam.id)) return;
    this._prefetched = true;
    const id = this.context.next.exam.id;
    this.workstation.prefetch(this.context.next.exam).then(() => {
      this.viewerRoot.dataset.prefetched = String(id); // for tests and benchmarks
    });
  }

  async next() {
    if (!this.form.locked) {
      document.getElementById("reading-status").textContent = "Submit this reading before moving on.";
      return;
    }
    const next = this.context.next;
    if (!next) {
      window.location.assign(this.context.urls.worklist);
      return;
    }
    if (this._switching) return; // a second "n" while the first one is on its way
    this._switching = true;
    try {
      await this._switchTo(next);
    } finally {
      this._switching = false;
    }
  }

  async _switchTo(next) {
    performance.mark(`viewer:switch:${next.exam.id}`);
    // The reading context is requested first and arrives while the images (prefetched: already
    // on the GPU) are drawn.
    const request = fetch(next.context, { credentials: "same-origin", headers: { Accept: "application/json" } });
    this.workstation.showExam(next.exam);
    this.form.pause("Opening the next exam…");
    let context;
    try {
      const response = await request;
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      context = await response.json();
    } catch (error) {
      // The images may be on screen, but without its reading the exam cannot be read here:
      // reload this exam's page, which shows the error or recovers.
      document.getElementById("reading-status").textContent = `Could not open the next exam (${error.message}); reloading.`;
      window.location.assign(next.page);
      return;
    }
    history.pushState({ exam: context.exam.id }, "", context.urls.page);
    this.show(context, context.exam.id === next.exam.id);
  }
}

try {
  window.readerViewer = new ReadingPage(readContext());
} catch (error) {
  const root = document.getElementById("viewer");
  if (root) {
    root.dataset.state = "error";
    root.dataset.error = error.message;
  }
  const status = document.getElementById("reading-status");
  if (status) status.textContent = `The viewer could not start: ${error.message}`;
  throw error;
}
