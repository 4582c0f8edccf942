// The page: wires the editors, the live stream, the drawings and the maths panel together.
import { follow, get, post, withToken } from "./api.js";
import { Controls } from "./controls.js";
import { drawCurves, drawLine, drawPlane, NetworkView, pointAt } from "./draw.js";
import { MathsPanel } from "./maths.js";

const $ = (id) => document.getElementById(id);
let state = null;
let records = [];
let generation = null;
let latest = null;
let selectedEdge = null;

function say(text, kind = "error") {
  const box = $("message");
  box.hidden = !text;
  box.textContent = text || "";
  box.className = kind === "info" ? "info" : "";
}

async function refreshState() {
  state = await get("api/state");
  controls.show(state);
  if (state.message) say(state.message, "info");
}

async function applySettings(settings) {
  try {
    state = await post("api/settings", settings);
    controls.show(state);
    say(null);
  } catch (error) {
    say(error.message);
    controls.show(state); // the refused value springs back to the one in force
  }
}

async function control(action, value = null) {
  try {
    await post("api/control", { action, value });
    if (action === "reset") say(null);
  } catch (error) {
    say(error.message);
  }
}

async function upload(input, path, params) {
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  try {
    state = await post(path, file, params(file));
    controls.show(state);
    say(path === "api/upload" ? `${file.name}: ${state.data.n_train} training and ${state.data.n_validation} ` +
      "validation rows" : state.message, "info");
  } catch (error) {
    say(`${file.name}: ${error.message}`);
  }
}

function showStatus(status) {
  const el = $("status");
  const last = records[records.length - 1];
  const parts = [`epoch ${status.epoch}`, `batch ${status.batch}`, `${status.batches} batches`];
  if (status.running_loss !== null) parts.push(`loss ${Number(status.running_loss).toPrecision(4)}`);
  if (last && last.val_loss !== undefined) parts.push(`val loss ${Number(last.val_loss).toPrecision(4)}`);
  if (last && last.accuracy !== undefined) parts.push(`accuracy ${(100 * last.accuracy).toFixed(1)}%`);
  el.textContent = parts.join(" · ");
  el.dataset.batches = status.batches;
  el.dataset.epochs = records.length;
  el.dataset.mode = status.mode;
  if (document.activeElement !== $("speed")) $("speed").value = String(status.speed);
  $("play").innerHTML = status.mode === "playing" ? "&#x23f8; pause" : "&#x25b6; play";
  if (status.error) say(status.error);
}

function render() {
  if (!latest || !state) return;
  showStatus(latest.status);
  network.update(latest.network, latest.plane, state.data.feature_names, $("show-gradients").checked);
  if (selectedEdge) selectedEdge.classList.add("selected");
  const chosen = /^\s*\d+\s*$/.test($("samples").value) ? Number($("samples").value) : -1;
  if (latest.plane && state.data.in_plane) {
    drawPlane($("boundary"), latest.plane, state.data, chosen);
    const canvas = $("boundary");
    canvas.dataset.frames = Number(canvas.dataset.frames || 0) + 1; // boundaries drawn (benchmarks/bench_studio.py)
  }
  if (latest.line && state.data.in_line) drawLine($("boundary"), latest.line, state.data);
  drawCurves($("loss-curve"), records, ["loss", "val_loss"], "loss");
  const metric = state.network.task === "classification" ? "accuracy" : "r2";
  drawCurves($("metric-curve"), records, [metric, `val_${metric}`], metric);
}

let lost = false;

function onSnapshot(snap) {
  if (lost) { lost = false; say(null); }
  if (snap.generation !== generation) {
    generation = snap.generation;
    records = [];
    if (!state || state.generation !== generation) refreshState().then(render).catch((e) => say(e.message));
  }
  records = records.slice(0, snap.records_from).concat(snap.records);
  latest = snap;
  render();
}

const controls = new Controls(applySettings);
const maths = new MathsPanel({
  weight: $("weight"), samples: $("samples"), explanation: $("explanation"), check: $("check"),
  nodeValues: $("node-values"), downloadMd: $("download-md"), downloadTex: $("download-tex"), onError: say,
});
const network = new NetworkView($("network"), {
  onWeight: (layer, j, k, line) => {
    if (selectedEdge) selectedEdge.classList.remove("selected");
    selectedEdge = line;
    line.classList.add("selected");
    maths.explain(`${layer},${j},${k}`);
  },
  onNode: (layer, j) => maths.node(layer, j),
});

$("play").addEventListener("click", () => control(latest && latest.status.mode === "playing" ? "pause" : "play"));
$("step").addEventListener("click", () => control("step"));
$("speed").addEventListener("change", () => control("speed", Number($("speed").value)));
$("reset").addEventListener("click", () => control("reset"));
$("explain").addEventListener("click", () => maths.explain());
$("first-batch").addEventListener("click", () => {
  const size = Math.min(state.settings.batch_size, 32, state.data.n_train);
  $("samples").value = size > 1 ? `0-${size - 1}` : "0";
  maths.explain();
});
$("show-gradients").addEventListener("change", render);
$("boundary").addEventListener("click", (event) => {
  const row = state && state.data.in_plane ? pointAt($("boundary"), state.data, event) : -1;
  if (row < 0) return;
  $("samples").value = String(row);   // explain on this training point
  maths.explain();
  render();
});
$("csv-file").addEventListener("change", (e) => upload(e.target, "api/upload",
  (file) => ({ name: file.name, target: $("csv-target").value })));
$("load-model").addEventListener("change", (e) => upload(e.target, "api/model", () => ({})));
$("download-model").href = withToken("api/model");

refreshState().then(() => follow(onSnapshot, () => {
  lost = true;
  say("lost the connection to the server; is backprop studio still running?");
}))
  .catch((error) => say(error.message));
