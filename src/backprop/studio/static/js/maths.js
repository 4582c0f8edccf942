// The maths panel: shows what backprop's explain module computed. It typesets; it never differentiates.
import { get, withToken } from "./api.js";

const fmt = (v) => (v === null || v === undefined ? "—" : Number(v).toPrecision(6));

function typeset(root) {
  for (const span of root.querySelectorAll(".math")) {
    const display = span.classList.contains("display");
    if (window.katex) {
      window.katex.render(span.dataset.tex, span, { displayMode: display, throwOnError: false, output: "htmlAndMathml" });
    } else {
      span.textContent = span.dataset.tex; // KaTeX missing: show the LaTeX itself
    }
  }
}

function cell(row, text, tag = "td") {
  const c = document.createElement(tag);
  c.textContent = text;
  row.appendChild(c);
  return c;
}

export class MathsPanel {
  constructor({ weight, samples, explanation, check, nodeValues, downloadMd, downloadTex, onError }) {
    Object.assign(this, { weight, samples, explanation, check, nodeValues, downloadMd, downloadTex, onError });
    this.updateLinks();
    weight.addEventListener("input", () => this.updateLinks());
    samples.addEventListener("input", () => this.updateLinks());
  }

  updateLinks() {
    const params = { weight: this.weight.value, samples: this.samples.value };
    this.downloadMd.href = withToken("api/explain", { ...params, format: "markdown" });
    this.downloadTex.href = withToken("api/explain", { ...params, format: "latex" });
  }

  async explain(weight) {
    if (weight) this.weight.value = weight;
    this.updateLinks();
    try {
      const e = await get("api/explain", { weight: this.weight.value, samples: this.samples.value });
      this.explanation.innerHTML = e.html; // the server's Markdown rendering; formulas as data-tex spans
      typeset(this.explanation);
      this.showCheck(e);
      this.nodeValues.replaceChildren();
      return e;
    } catch (error) {
      this.onError(error.message);
      return null;
    }
  }

  showCheck(e) {
    const table = document.createElement("table");
    table.id = "check-table";
    const rows = [
      ["weight", e.weight + " = " + fmt(e.value), String(e.value)],
      ["chain rule (article)", fmt(e.chain_rule), String(e.chain_rule)],
      ["backprop (net.gradients)", fmt(e.backprop), String(e.backprop)],
      ["finite difference", fmt(e.finite_difference), String(e.finite_difference)],
    ];
    for (const [name, shown, exact] of rows) {
      const tr = document.createElement("tr");
      cell(tr, name);
      const value = cell(tr, shown);
      value.dataset.value = exact;
      value.title = exact;
      table.appendChild(tr);
    }
    table.rows[2].cells[1].id = "grad-value";
    const verdict = document.createElement("p");
    const good = e.relative_difference < 1e-4;
    verdict.className = good ? "ok" : "bad";
    verdict.textContent = `relative difference to finite differences: ${Number(e.relative_difference).toExponential(2)}` +
      (good ? " - they agree" : " - check it");
    this.check.replaceChildren(table, verdict);
  }

  async node(layer, j) {
    try {
      const v = await get("api/node", { layer, j, samples: this.samples.value });
      const table = document.createElement("table");
      table.id = "node-table";
      const head = document.createElement("tr");
      for (const h of ["sample", "z", "a", "dC/da", "dC/dz"]) cell(head, h, "th");
      table.appendChild(head);
      v.rows.forEach((row, i) => {
        const tr = document.createElement("tr");
        cell(tr, String(row));
        for (const key of ["z", "a", "dC_da", "dC_dz"]) cell(tr, v[key] ? fmt(v[key][i]) : "—");
        table.appendChild(tr);
      });
      const title = document.createElement("p");
      title.textContent = layer === 0 ? `input node ${j}` : `node ${j} of layer ${layer}` + (v.note ? ` (${v.note})` : "");
      this.nodeValues.replaceChildren(title, table);
    } catch (error) {
      this.onError(error.message);
    }
  }
}
