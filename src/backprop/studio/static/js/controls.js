// The data and network editors: they hold the settings and send them when one changes.
const $ = (id) => document.getElementById(id);
const NUMBERS = ["n_samples", "noise", "validation", "seed", "lr", "batch_size", "l2", "dropout"];
const INTEGERS = new Set(["n_samples", "seed", "batch_size"]);

function options(select, values, labels = {}) {
  select.replaceChildren(...values.map((v) => new Option(labels[v] || v, v)));
}

export class Controls {
  constructor(onChange) {
    this.onChange = onChange;
    this.settings = null;
    for (const id of NUMBERS) $(id).addEventListener("change", () => this.number(id));
    for (const id of ["dataset", "output_activation", "loss", "optimizer"]) {
      $(id).addEventListener("change", () => this.send({ [id]: $(id).value }));
    }
    $("bias").addEventListener("change", () => this.send({ bias: $("bias").checked }));
    $("add-layer").addEventListener("click", () => {
      const s = this.settings;
      const last = s.activations[s.activations.length - 1] || "tanh";
      this.send({ hidden: [...s.hidden, 2], activations: [...s.activations, last] });
    });
    $("remove-layer").addEventListener("click", () => {
      const s = this.settings;
      this.send({ hidden: s.hidden.slice(0, -1), activations: s.activations.slice(0, -1) });
    });
  }

  number(id) {
    const text = $(id).value.trim();
    const value = INTEGERS.has(id) ? Number.parseInt(text, 10) : Number.parseFloat(text);
    this.send({ [id]: Number.isNaN(value) ? text : value }); // the server names a bad value
  }

  send(change) {
    this.onChange({ ...this.settings, ...change });
  }

  // Show the server's settings and choices (after every change, so a refused one springs back).
  show(state) {
    const s = state.settings, o = state.options;
    this.settings = s;
    const dataset = $("dataset");
    dataset.replaceChildren();
    const group = (label, names) => {
      const g = document.createElement("optgroup");
      g.label = label;
      for (const n of names) g.appendChild(new Option(n === "upload" ? `your CSV: ${state.uploaded}` : n, n));
      dataset.appendChild(g);
    };
    group("in the plane", o.plane_sets);
    group("others", o.other_sets);
    if (state.uploaded) group("yours", ["upload"]);
    dataset.value = s.dataset;
    $("dataset-description").textContent = s.dataset === "upload" ? `uploaded file ${state.uploaded}` : o.descriptions[s.dataset] || "";
    for (const id of NUMBERS) $(id).value = s[id];
    $("dropout-control").hidden = !o.dropout;   // lights up once the engine takes dropout=
    options($("output_activation"), ["auto", ...o.activations]);
    options($("loss"), ["auto", ...o.losses], { sse: "sse (the article's)" });
    options($("optimizer"), o.optimizers, { sgd: "sgd (the article's)" });
    $("output_activation").value = s.output_activation;
    $("loss").value = s.loss;
    $("optimizer").value = s.optimizer;
    $("bias").checked = s.bias;
    document.body.classList.toggle("plane-hidden", !state.data.in_plane);
    document.body.classList.toggle("picture-hidden", !state.data.in_plane && !state.data.in_line);

    const features = $("features");
    features.replaceChildren();
    for (const name of o.features) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = s.features.includes(name);
      box.addEventListener("change", () => {
        const chosen = o.features.filter((f) => (f === name ? box.checked : s.features.includes(f)));
        this.send({ features: chosen });
      });
      label.append(box, name);
      features.appendChild(label);
    }

    const layers = $("layers");
    layers.replaceChildren();
    s.hidden.forEach((n, i) => {
      const box = document.createElement("div");
      box.className = "layer-editor";
      const minus = document.createElement("button"), plus = document.createElement("button");
      minus.textContent = "−"; plus.textContent = "+";
      minus.title = "one node fewer"; plus.title = "one node more";
      const count = document.createElement("span");
      count.className = "nodes";
      count.textContent = ` ${n} `;
      const resize = (d) => this.send({ hidden: s.hidden.map((m, k) => (k === i ? m + d : m)) });
      minus.addEventListener("click", () => resize(-1));
      plus.addEventListener("click", () => resize(1));
      const act = document.createElement("select");
      options(act, o.activations.filter((a) => a !== "softmax"));
      act.value = s.activations[i];
      act.addEventListener("change", () => this.send({ activations: s.activations.map((a, k) => (k === i ? act.value : a)) }));
      const title = document.createElement("div");
      title.textContent = `layer ${i + 1}`;
      box.append(title, minus, count, plus, act);
      layers.appendChild(box);
    });
    $("sizes").textContent = `sizes ${state.network.sizes.join("-")}, loss ${state.network.loss}`;
  }
}
