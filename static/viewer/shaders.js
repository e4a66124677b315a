// GLSL sources for the viewer. Window/level runs here, on the stored 16-bit values: nothing is
// reduced to 8 bits before the VOI step. At 1:1 and above every device pixel shows exactly one
// stored value; below 1:1 the reduced levels (2 x 2 means of stored values) are windowed.

// VOI modes, mirrored in gl.js (uniform u_mode).
export const VOI_LINEAR = 0;
export const VOI_LINEAR_EXACT = 1;
export const VOI_SIGMOID = 2;
export const VOI_LUT = 3;

// A full-screen triangle pair; every fragment finds its image texel from gl_FragCoord through an
// affine map, so the same program draws fit, zoomed, mirrored and loupe views.
export const VERTEX_SOURCE = `#version 300 es
in vec2 a_position;
void main() {
  gl_Position = vec4(a_position, 0.0, 1.0);
}
`;

// Shared by both fragment programs: device pixel -> stored image coordinates (col, row).
// u_map = (ax, bx, ay, by): col = ax * fragX + bx, row = ay * fragY + by.
const MAP_GLSL = `
uniform vec4 u_map;
uniform vec2 u_size;          // columns, rows of the stored image
vec2 imageCoord(vec2 frag) {
  return vec2(u_map.x * frag.x + u_map.y, u_map.z * frag.y + u_map.w);
}
bool inside(vec2 p) {
  return p.x >= 0.0 && p.y >= 0.0 && p.x < u_size.x && p.y < u_size.y;
}
`;

export const FULL_FRAGMENT_SOURCE = `#version 300 es
precision highp float;
precision highp int;
precision highp usampler2D;
uniform usampler2D u_image;
uniform highp sampler2D u_lut;   // VOI LUT Sequence, normalised to [0, 1], LUT_WIDTH texels per row
uniform int u_mode;
uniform float u_slope;
uniform float u_intercept;
uniform float u_center;
uniform float u_width;
uniform float u_lut_first;        // first mapped value (modality units)
uniform int u_lut_count;
uniform bool u_invert;            // MONOCHROME1 xor manual invert
uniform int u_level;              // reduced level to read (0: the stored image)
uniform int u_taps;               // samples per axis when one device pixel covers several texels
${MAP_GLSL}
out vec4 outColor;

const int LUT_WIDTH = 4096;

// DICOM PS3.3 C.11.2.1.2.1 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT), C.11.2.1.3.1 (SIGMOID),
// with ymin = 0 and ymax = 1.
float voi(float x) {
  if (u_mode == ${VOI_LINEAR}) {
    float c = u_center - 0.5;
    float w = u_width - 1.0;
    if (x <= c - w / 2.0) return 0.0;
    if (x > c + w / 2.0) return 1.0;
    return (x - c) / w + 0.5;
  }
  if (u_mode == ${VOI_LINEAR_EXACT}) {
    if (x <= u_center - u_width / 2.0) return 0.0;
    if (x > u_center + u_width / 2.0) return 1.0;
    return (x - u_center) / u_width + 0.5;
  }
  if (u_mode == ${VOI_SIGMOID}) {
    return 1.0 / (1.0 + exp(-4.0 * (x - u_center) / u_width));
  }
  int index = clamp(int(floor(x - u_lut_first)), 0, u_lut_count - 1);
  return texelFetch(u_lut, ivec2(index % LUT_WIDTH, index / LUT_WIDTH), 0).r;
}

// texel: coordinates in the stored image; read from the reduced level u_level.
float display(ivec2 texel) {
  ivec2 t = min(texel >> u_level, textureSize(u_image, u_level) - 1);
  float stored = float(texelFetch(u_image, t, u_level).r);
  float y = voi(stored * u_slope + u_intercept);
  return u_invert ? 1.0 - y : y;
}

void main() {
  vec2 p = imageCoord(gl_FragCoord.xy);
  if (!inside(p)) {
    outColor = vec4(0.0, 0.0, 0.0, 1.0);
    return;
  }
  float y;
  if (u_taps <= 1) {
    y = display(ivec2(floor(p)));
  } else {
    // Between two levels: average the displayed values over the pixel's footprint.
    vec2 delta = vec2(u_map.x, u_map.z) / float(u_taps);
    vec2 first = p - vec2(u_map.x, u_map.z) * 0.5 + delta * 0.5;
    ivec2 limit = ivec2(u_size) - 1;
    float sum = 0.0;
    for (int j = 0; j < u_taps; j++) {
      for (int i = 0; i < u_taps; i++) {
        ivec2 t = clamp(ivec2(floor(first + delta * vec2(float(i), float(j)))), ivec2(0), limit);
        sum += display(t);
      }
    }
    y = sum / float(u_taps * u_taps);
  }
  // Round here so that the 8-bit framebuffer holds exactly round(255 * y).
  float v = floor(y * 255.0 + 0.5) / 255.0;
  outColor = vec4(v, v, v, 1.0);
}
`;

// The 8-bit preview PNG, shown until the full-resolution data arrive. It is already windowed at
// ingest, so only the manual invert applies.
export const PREVIEW_FRAGMENT_SOURCE = `#version 300 es
precision highp float;
uniform sampler2D u_preview;
uniform bool u_invert;
${MAP_GLSL}
out vec4 outColor;
void main() {
  vec2 p = imageCoord(gl_FragCoord.xy);
  if (!inside(p)) {
    outColor = vec4(0.0, 0.0, 0.0, 1.0);
    return;
  }
  float v = texture(u_preview, p / u_size).r;
  outColor = vec4(vec3(u_invert ? 1.0 - v : v), 1.0);
}
`;
