// The reading form: per breast a probability of malignancy (0-100, slider and number field) and
// a BI-RADS category (0-6). Every change is kept in localStorage at once and saved to the server
// as a draft after a short pause; submit validates, sends a client-generated idempotency key
// (retries reuse it, so a retried POST never creates a second reading) and locks the form.

const FIELDS = ["right_probability", "left_probability", "right_birads", "left_birads"];
const SAVE_DELAY_MS = 400;
const RETRY_DELAYS_MS = [1000, 2000, 5000, 10000];

const BIRADS = [
  [0, "Incomplete"],
  [1, "Negative"],
  [2, "Benign"],
  [3, "Probably benign"],
  [4, "Suspicious"],
  [5, "Highly suggestive"],
  [6, "Known malignancy"],
];

// RFC 4122 version 4 from crypto.getRandomValues (randomUUID needs a secure context).
export function newClientKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export class RequestError extends Error {
  constructor(status, body) {
    super((body && (body.detail || Object.values(body.errors || {}).join(" "))) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function sendJson(method, url, payload) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(payload),
  });
  const isJson = (response.headers.get("Content-Type") || "").includes("application/json");
  if (response.redirected || !isJson) {
    // The login page instead of an answer: the session ended. Nothing was saved.
    throw new RequestError(401, { detail: "your session has ended; log in again in another tab" });
  }
  const body = await response.json();
  if (!response.ok) throw new RequestError(response.status, body);
  return body;
}

function breastFieldset(side, label) {
  const birads = BIRADS.map(
    ([value, text]) =>
      `<label class="birads-option" title="${text}"><input type="radio" name="${side}_birads" value="${value}">` +
      `<span>${value}</span></label>`,
  ).join("");
  return `
    <fieldset class="breast breast-${side}" data-side="${side}">
      <legend>${label}</legend>
      <label class="probability">
        <span>Probability of malignancy (%)</span>
        <input type="range" name="${side}_probability_range" min="0" max="100" step="1" value="0" aria-label="${label} probability slider">
        <input type="number" name="${side}_probability" min="0" max="100" step="any" inputmode="decimal" aria-label="${label} probability">
      </label>
      <div class="birads" role="radiogroup" aria-label="${label} BI-RADS">
        <span>BI-RADS</span>${birads}
      </div>
      <p class="field-error" data-error-for="${side}"></p>
    </fieldset>`;
}

export class ReadingForm {
  constructor(form, status, { onSubmitted = () => {} } = {}) {
    this.form = form;
    this.status = status;
    this.onSubmitted = onSubmitted;
    this.context = null;
    this.locked = false;
    this.clientKey = null;
    this._timer = null;
    this._saving = null;
    this._retry = 0;
    // Right breast first: it hangs on the viewer's left.
    form.innerHTML = breastFieldset("right", "Right breast") + breastFieldset("left", "Left breast");
    form.addEventListener("input", (event) => this._input(event));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  _storageKey() {
    return `readerstudy:draft:${this.context.assignment.id}:${this.context.exam.id}`;
  }

  // context: the exam context from the server (assignment, exam, reading, urls).
  load(context) {
    clearTimeout(this._timer);
    this.context = context;
    this.clientKey = newClientKey();
    this._retry = 0;
    const reading = context.reading;
    let values = Object.fromEntries(FIELDS.map((f) => [f, reading[f] ?? null]));
    this.locked = reading.status === "submitted";
    let pending = false;
    if (this.locked) {
      localStorage.removeItem(this._storageKey());
    } else {
      // A change that never reached the server (crash, network loss) wins over the server copy.
      const local = JSON.parse(localStorage.getItem(this._storageKey()) || "null");
      if (local && local.pending) {
        values = local.values;
        pending = true;
      }
    }
    this.values = values;
    this._render();
    this._setLocked(this.locked);
    this._showErrors({});
    if (this.locked) this._say("Submitted: this reading is locked.", "done");
    else if (pending) {
      this._say("Restored unsaved changes; saving…", "saving");
      this._save();
    } else this._say(reading.status === "draft" && FIELDS.some((f) => values[f] !== null) ? "Draft restored." : "", "idle");
  }

  // Between two exams: nothing to edit until load() brings the next reading.
  pause(message) {
    clearTimeout(this._timer);
    this.context = null;
    this.locked = true;
    this.values = Object.fromEntries(FIELDS.map((f) => [f, null]));
    this._render();
    this._setLocked(true);
    this._showErrors({});
    this._say(message, "saving");
  }

  _render() {
    for (const side of ["right", "left"]) {
      const p = this.values[`${side}_probability`];
      this.form.elements[`${side}_probability`].value = p === null ? "" : String(p);
      this.form.elements[`${side}_probability_range`].value = p === null ? "0" : String(p);
      this.form.elements[`${side}_probability_range`].classList.toggle("unset", p === null);
      const b = this.values[`${side}_birads`];
      for (const radio of this.form.querySelectorAll(`input[name=${side}_birads]`)) radio.checked = b !== null && Number(radio.value) === b;
    }
  }

  _setLocked(locked) {
    for (const element of this.form.elements) element.disabled = locked;
    this.form.classList.toggle("locked", locked);
  }

  _input(event) {
    if (this.locked) return;
    const name = event.target.name;
    const side = name.startsWith("left") ? "left" : "right";
    if (name.endsWith("_probability_range")) {
      this.values[`${side}_probability`] = Number(event.target.value);
      this.form.elements[`${side}_probability`].value = event.target.value;
      event.target.classList.remove("unset");
    } else if (name.endsWith("_probability")) {
      const text = event.target.value.trim();
      const number = text === "" ? null : Number(text);
      this.values[`${side}_probability`] = number;
      if (number !== null && Number.isFinite(number)) {
        this.form.elements[`${side}_probability_range`].value = String(Math.min(100, Math.max(0, number)));
      }
    } else if (name.endsWith("_birads")) {
      this.values[`${side}_birads`] = Number(event.target.value);
    }
    this.changed();
  }

  // Records the current values locally and schedules a server save.
  changed() {
    localStorage.setItem(this._storageKey(), JSON.stringify({ values: this.values, pending: true }));
    this._say("Unsaved changes…", "saving");
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._save(), SAVE_DELAY_MS);
  }

  // Sets values programmatically (keyboard shortcuts, tests) as if typed.
  set(field, value) {
    if (!FIELDS.includes(field)) throw new Error(`unknown field "${field}"`);
    if (this.locked) return;
    this.values[field] = value;
    this._render();
    this.changed();
  }

  async _save() {
    if (this.locked || !this.context) return;
    const context = this.context;
    const sent = { ...this.values };
    try {
      this._saving = sendJson("PUT", context.urls.draft, sent);
      const reading = await this._saving;
      if (this.context !== context) return;
      this._retry = 0;
      this._showErrors({});
      // Still pending if the reader changed something while the request was in flight.
      if (FIELDS.every((f) => this.values[f] === sent[f])) {
        localStorage.setItem(this._storageKey(), JSON.stringify({ values: sent, pending: false }));
        this._say(`Draft saved ${new Date(reading.updated_at).toLocaleTimeString()}.`, "saved");
      }
    } catch (error) {
      if (this.context !== context) return;
      if (error.status === 400) {
        this._showErrors(error.body && error.body.errors ? error.body.errors : {});
        this._say("Not saved: please correct the highlighted values.", "error");
      } else if (error.status === 409) {
        this.locked = true;
        this._setLocked(true);
        this._say(error.message, "done");
      } else {
        const delay = RETRY_DELAYS_MS[Math.min(this._retry++, RETRY_DELAYS_MS.length - 1)];
        this._say(`Not saved (${error.message}); retrying in ${delay / 1000} s. Your changes are kept in this browser.`, "error");
        clearTimeout(this._timer);
        this._timer = setTimeout(() => this._save(), delay);
      }
    } finally {
      this._saving = null;
    }
  }

  validate() {
    const errors = {};
    for (const side of ["right", "left"]) {
      const messages = [];
      const p = this.values[`${side}_probability`];
      if (p === null) messages.push("Enter a probability of malignancy.");
      else if (!Number.isFinite(p) || p < 0 || p > 100) messages.push("The probability must be between 0 and 100.");
      if (this.values[`${side}_birads`] === null) messages.push("Choose a BI-RADS category.");
      if (messages.length) errors[side] = messages.join(" ");
    }
    return errors;
  }

  _showErrors(errors) {
    for (const side of ["right", "left"]) {
      const fieldErrors = Object.entries(errors).filter(([key]) => key === side || key.startsWith(`${side}_`)).map(([, v]) => v);
      const node = this.form.querySelector(`[data-error-for=${side}]`);
      node.textContent = fieldErrors.join(" ");
      node.closest("fieldset").classList.toggle("invalid", fieldErrors.length > 0);
    }
  }

  async submit() {
    if (this.locked) return true;
    const errors = this.validate();
    this._showErrors(errors);
    if (Object.keys(errors).length) {
      this._say("Complete both breasts before submitting.", "error");
      return false;
    }
    clearTimeout(this._timer);
    const context = this.context;
    this._say("Submitting…", "saving");
    this._setLocked(true);
    for (let attempt = 0; ; attempt++) {
      try {
        const reading = await sendJson("POST", context.urls.submit, { ...this.values, client_key: this.clientKey });
        if (this.context !== context) return false;
        this.locked = true;
        localStorage.removeItem(this._storageKey());
        context.reading = reading;
        this._say("Submitted: this reading is locked.", "done");
        this.onSubmitted(reading);
        return true;
      } catch (error) {
        if (this.context !== context) return false;
        if (error.status && error.status < 500) {
          this._setLocked(false);
          this._showErrors(error.body && error.body.errors ? error.body.errors : {});
          this._say(`Not submitted: ${error.message}`, "error");
          return false;
        }
        // Network or server error: retry with the same key; the server answers a repeat
        // of a submission that did get through with that same reading.
        const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)];
        this._say(`Submission not confirmed (${error.message}); retrying in ${delay / 1000} s.`, "error");
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  _say(text, kind) {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }
}
