// Drawing what the server computed: the boundary, node pictures, curves, the network. No maths here.
export const CLASS_COLOURS = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];
const SVG = "http://www.w3.org/2000/svg";

function bytes(base64) {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function hexRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// Orange for negative, white for zero, blue for positive: t in [-1, 1].
export function diverging(t) {
  const [r, g, b] = t < 0 ? hexRgb("#f59322") : hexRgb("#0877bd");
  const s = Math.min(1, Math.abs(t));
  return [255 + (r - 255) * s, 255 + (g - 255) * s, 255 + (b - 255) * s];
}

function imageFrom(size, colourAt) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = colourAt(i);
    image.data[4 * i] = r; image.data[4 * i + 1] = g; image.data[4 * i + 2] = b; image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// A picture of one node over the plane, coloured by the sign and size of its value.
export function nodePicture(picture, size) {
  const data = bytes(picture.data);
  const scale = Math.max(Math.abs(picture.lo), Math.abs(picture.hi)) || 1;
  const span = picture.hi - picture.lo;
  return imageFrom(size, (i) => diverging((picture.lo + (data[i] / 255) * span) / scale));
}

function outputPicture(output, size) {
  if (output.kind === "classes") {
    const cls = bytes(output.class), conf = bytes(output.confidence);
    return imageFrom(size, (i) => {
      const [r, g, b] = hexRgb(CLASS_COLOURS[cls[i] % CLASS_COLOURS.length]);
      const s = 0.15 + 0.55 * (conf[i] / 255);
      return [255 + (r - 255) * s, 255 + (g - 255) * s, 255 + (b - 255) * s];
    });
  }
  return nodePicture(output, size);
}

// The decision boundary (or regression surface) and the points on it.
export function planeXY(canvas, data, [a, b]) {
  const [x1lo, x1hi, x2lo, x2hi] = data.extent;
  return [((a - x1lo) / (x1hi - x1lo)) * canvas.width, ((x2hi - b) / (x2hi - x2lo)) * canvas.height];
}

// The training row nearest to a click on the canvas (within a few pixels), or -1.
export function pointAt(canvas, data, event) {
  const box = canvas.getBoundingClientRect();
  const cx = ((event.clientX - box.left) / box.width) * canvas.width;
  const cy = ((event.clientY - box.top) / box.height) * canvas.height;
  let best = -1, bestD = 64;
  (data.points || []).forEach((p, i) => {
    const [x, y] = planeXY(canvas, data, p);
    const d = (x - cx) ** 2 + (y - cy) ** 2;
    if (d < bestD) { best = i; bestD = d; }
  });
  return best;
}

export function drawPlane(canvas, plane, data, chosen = -1) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(outputPicture(plane.output, plane.size), 0, 0, W, H);
  const valueScale = plane.output.kind === "value" ? Math.max(Math.abs(plane.output.lo), Math.abs(plane.output.hi)) || 1 : 1;
  const colour = (label) => {
    if (plane.output.kind === "value") return `rgb(${diverging(label / valueScale).join(",")})`;
    const i = data.classes.indexOf(label);
    return CLASS_COLOURS[(i < 0 ? 0 : i) % CLASS_COLOURS.length];
  };
  const dot = ([a, b, label], filled) => {
    const [x, y] = planeXY(canvas, data, [a, b]);
    ctx.beginPath();
    ctx.arc(x, y, 3, 0, 2 * Math.PI);
    ctx.lineWidth = filled ? 1 : 2;
    ctx.strokeStyle = filled ? "#fff" : colour(label);
    if (filled) { ctx.fillStyle = colour(label); ctx.fill(); }
    ctx.stroke();
  };
  for (const p of data.points || []) dot(p, true);
  for (const p of data.val_points || []) dot(p, false);
  if (chosen >= 0 && data.points && data.points[chosen]) {  // the sample the maths panel explains
    const [x, y] = planeXY(canvas, data, data.points[chosen]);
    ctx.beginPath();
    ctx.arc(x, y, 7, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#111";
    ctx.stroke();
  }
}

// One feature, a regression target: the points (y against x) and the network's prediction.
export function drawLine(canvas, line, data) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const points = (data.line_points || []).concat(data.val_line_points || []);
  const ys = points.map((p) => p[1]).concat(line.y.filter(Number.isFinite));
  let lo = Math.min(...ys), hi = Math.max(...ys);
  const pad = (hi - lo) * 0.08 + 1e-9; lo -= pad; hi += pad;
  const [xlo, xhi] = data.extent;
  const X = (x) => ((x - xlo) / (xhi - xlo)) * W, Y = (y) => H - ((y - lo) / (hi - lo)) * H;
  const dot = ([x, y], filled) => {
    ctx.beginPath();
    ctx.arc(X(x), Y(y), 3, 0, 2 * Math.PI);
    ctx.strokeStyle = "#0877bd"; ctx.fillStyle = "#0877bd"; ctx.lineWidth = 1.5;
    if (filled) ctx.fill(); else ctx.stroke();
  };
  (data.line_points || []).forEach((p) => dot(p, true));
  (data.val_line_points || []).forEach((p) => dot(p, false));
  ctx.beginPath();
  line.x.forEach((x, i) => (i ? ctx.lineTo(X(x), Y(line.y[i])) : ctx.moveTo(X(x), Y(line.y[i]))));
  ctx.strokeStyle = "#f59322"; ctx.lineWidth = 2.5;
  ctx.stroke();
}

// Loss or metric curves: one line per key, solid for training and dashed for validation.
export function drawCurves(canvas, records, keys, title) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 42, bottom = 16, top = 14;
  ctx.clearRect(0, 0, W, H);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#6a737d";
  ctx.fillText(title, left, 10);
  const values = records.flatMap((r) => keys.map((k) => r[k])).filter((v) => Number.isFinite(v));
  if (!records.length || !values.length) return;
  // The first and last training values, for whoever reads the page without eyes (the browser tests).
  canvas.dataset.first = records[0][keys[0]];
  canvas.dataset.last = records[records.length - 1][keys[0]];
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-12) { hi += 0.5; lo -= 0.5; }
  const n = records.length;
  const x = (i) => left + ((W - left - 6) * i) / Math.max(1, n - 1);
  const y = (v) => top + (H - top - bottom) * (1 - (v - lo) / (hi - lo));
  ctx.fillText(hi.toPrecision(3), 2, top + 8);
  ctx.fillText(lo.toPrecision(3), 2, H - bottom);
  ctx.fillText(`epoch ${records[n - 1].epoch}`, W - 70, H - 3);
  keys.forEach((key, index) => {
    ctx.beginPath();
    ctx.setLineDash(key.startsWith("val_") ? [4, 3] : []);
    ctx.strokeStyle = index % 2 ? "#f59322" : "#0877bd";
    ctx.lineWidth = 1.5;
    let started = false;
    records.forEach((r, i) => {
      if (!Number.isFinite(r[key])) return;
      if (started) ctx.lineTo(x(i), y(r[key])); else { ctx.moveTo(x(i), y(r[key])); started = true; }
    });
    ctx.stroke();
  });
  ctx.setLineDash([]);
}

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

// The network: built once per shape, then only its colours, widths and pictures change.
export class NetworkView {
  constructor(svg, { onWeight, onNode }) {
    this.svg = svg; this.onWeight = onWeight; this.onNode = onNode; this.shape = null;
  }

  build(view, featureNames) {
    const svg = this.svg;
    svg.replaceChildren();
    const W = svg.clientWidth || 500, H = svg.clientHeight || 350;
    const sizes = view.sizes, columns = sizes.length;
    this.nodes = []; this.edges = [];
    const slot = (n) => Math.min(34, (H - 20) / n);
    const box = (n) => Math.max(4, slot(n) - 6);
    const pos = sizes.map((n, c) => {
      const left = featureNames && sizes[0] <= 12 ? 52 : 20;  // room for the features' names
      const x = left + ((W - left - 40) * c) / Math.max(1, columns - 1);
      const top = (H - slot(n) * n) / 2;
      return Array.from({ length: n }, (_, j) => ({ x, y: top + slot(n) * j + slot(n) / 2, s: box(n) }));
    });
    const edgeGroup = el("g", {}, svg), nodeGroup = el("g", {}, svg);
    view.layers.forEach((layer, li) => {
      layer.W.forEach((row, j) => row.forEach((_, k) => {
        const a = pos[li][k], b = pos[li + 1][j];
        const d = `M${a.x + a.s / 2},${a.y} C${(a.x + b.x) / 2},${a.y} ${(a.x + b.x) / 2},${b.y} ${b.x - b.s / 2},${b.y}`;
        const group = el("g", { "data-layer": layer.layer, "data-j": j, "data-k": k }, edgeGroup);
        group.classList.add("weight");
        const hit = el("path", { d, class: "hit" }, group);
        const line = el("path", { d, class: "edge" }, group);
        const title = el("title", {}, hit);
        group.addEventListener("click", () => this.onWeight(layer.layer, j, k, line));
        this.edges.push({ li, j, k, line, title });
      }));
    });
    sizes.forEach((n, c) => pos[c].forEach((p, j) => {
      const layerNumber = c === 0 ? 0 : view.layers[c - 1].layer;
      const g = el("g", { class: "node", transform: `translate(${p.x - p.s / 2},${p.y - p.s / 2})`,
        "data-layer": layerNumber, "data-j": j }, nodeGroup);
      el("rect", { width: p.s, height: p.s }, g);
      const image = el("image", { width: p.s, height: p.s, preserveAspectRatio: "none" }, g);
      const title = el("title", {}, g);
      title.textContent = c === 0 ? `input ${j}${featureNames ? ": " + featureNames[j] : ""}`
        : `layer ${layerNumber}, node ${j}`;
      if (c === 0 && featureNames && p.s >= 14 && n <= 12) {
        el("text", { x: -4, y: p.s / 2 + 3, "text-anchor": "end" }, g).textContent = featureNames[j];
      }
      g.addEventListener("click", () => this.onNode(layerNumber, j));
      this.nodes.push({ c, j, image });
    }));
  }

  update(view, plane, featureNames, showGradients) {
    const shape = JSON.stringify(view.sizes) + (featureNames || []).join();
    if (shape !== this.shape) { this.build(view, featureNames); this.shape = shape; }
    let biggest = 1e-12;
    const pick = (layer) => (showGradients && layer.dW ? layer.dW : layer.W);
    for (const layer of view.layers) for (const row of pick(layer)) for (const v of row) biggest = Math.max(biggest, Math.abs(v));
    for (const edge of this.edges) {
      const layer = view.layers[edge.li];
      const v = pick(layer)[edge.j][edge.k];
      edge.line.setAttribute("stroke", v >= 0 ? "#0877bd" : "#f59322");
      edge.line.setAttribute("stroke-width", (0.5 + 5 * Math.sqrt(Math.abs(v) / biggest)).toFixed(2));
      const w = layer.W[edge.j][edge.k], g = layer.dW ? layer.dW[edge.j][edge.k] : null;
      edge.title.textContent = `w_${edge.j}${edge.k} of layer ${layer.layer} = ${w}` + (g === null ? "" : `, last dC/dw = ${g}`);
    }
    const pictures = plane ? plane.nodes : null;
    for (const node of this.nodes) {
      const picture = pictures && pictures[node.c] ? pictures[node.c][node.j] : null;
      if (picture) node.image.setAttribute("href", nodePicture(picture, plane.node_size).toDataURL());
      else node.image.removeAttribute("href");
    }
  }
}
