// Window/level state of one image: the presets its header carries (DICOM window pairs and a
// VOI LUT Sequence), the current choice, and manual adjustment. Values are in modality units
// (after rescale slope/intercept), as DICOM defines them.
import { VOI_LINEAR, VOI_LINEAR_EXACT, VOI_LUT, VOI_SIGMOID } from "./shaders.js";

const FUNCTION_MODES = { LINEAR: VOI_LINEAR, LINEAR_EXACT: VOI_LINEAR_EXACT, SIGMOID: VOI_SIGMOID };

export function presetsFromHeader(header) {
  const mode = FUNCTION_MODES[header.voi_lut_function || "LINEAR"];
  if (mode === undefined) throw new Error(`unsupported VOI LUT Function "${header.voi_lut_function}"`);
  const presets = (header.windows || []).map((w, i) => ({
    mode,
    center: w.center,
    width: w.width,
    label: w.explanation || `Window ${i + 1}`,
  }));
  if (header.voi_lut) {
    presets.push({ mode: VOI_LUT, center: 0, width: 0, label: "VOI LUT" });
  }
  // Always offered, and the default when the file has no window: the image's own value range
  // (files often carry only a window spanning the whole bit depth).
  const lo = Math.min(header.min, header.max) * header.rescale_slope + header.rescale_intercept;
  const hi = Math.max(header.min, header.max) * header.rescale_slope + header.rescale_intercept;
  presets.push({ mode, center: (lo + hi) / 2, width: Math.max(1, Math.abs(hi - lo)), label: "Image range" });
  return presets;
}

export class ImageWindow {
  constructor(header) {
    this.header = header;
    this.presets = presetsFromHeader(header);
    this.select(0);
  }

  select(index) {
    const count = this.presets.length;
    this.presetIndex = ((index % count) + count) % count;
    const p = this.presets[this.presetIndex];
    this.mode = p.mode;
    this.center = p.center;
    this.width = p.width;
  }

  get label() {
    return this.presets[this.presetIndex] && this.mode === this.presets[this.presetIndex].mode
      && this.center === this.presets[this.presetIndex].center && this.width === this.presets[this.presetIndex].width
      ? this.presets[this.presetIndex].label
      : "Manual";
  }

  // Manual adjustment; a LUT becomes the linear window spanning its input range first.
  adjust(dCenter, dWidth) {
    if (this.mode === VOI_LUT) {
      const lut = this.header.voi_lut;
      this.mode = FUNCTION_MODES[this.header.voi_lut_function || "LINEAR"];
      this.center = lut.first_mapped + lut.data.length / 2;
      this.width = lut.data.length;
    }
    this.center += dCenter;
    // LINEAR needs width >= 1; LINEAR_EXACT and SIGMOID need width > 0.
    this.width = Math.max(1, this.width + dWidth);
  }

  // Step in modality units for one CSS pixel of mouse drag: about 1/1000 of the stored range.
  dragStep() {
    const span = Math.abs((this.header.max - this.header.min) * this.header.rescale_slope);
    return Math.max(1, Math.round(span / 1000));
  }

  uniforms(manualInvert) {
    const lut = this.header.voi_lut;
    return {
      mode: this.mode,
      center: this.center,
      width: this.width,
      slope: this.header.rescale_slope,
      intercept: this.header.rescale_intercept,
      lutFirst: lut ? lut.first_mapped : 0,
      invert: Boolean(this.header.invert) !== Boolean(manualInvert),
    };
  }
}
