// The same model side by side on every host that ran it: `GET /metrics/{model}` answers one
// row per host (`by_host`), whichever host the page shows. The best host in each column is
// marked, the chosen host highlighted.

import { fmt, h, replaceChildren, setText } from "./dom.js";
import { hostOf } from "./hosts.js";

// [label, field, format, whether higher is better]
const COLUMNS = [
  ["requests", "request_count", fmt.int, null],
  ["p50", "response_time_p50_ms", fmt.ms, false],
  ["p95", "response_time_p95_ms", fmt.ms, false],
  ["TTFT p95", "time_to_first_token_p95_ms", fmt.ms, false],
  ["tok/s", "tokens_per_second_mean", (v) => fmt.num(v), true],
  ["score", "score", (v) => fmt.num(v), true],
];
// Hidden on phones (as in the models table): p95 and score stay on screen.
const OPTIONAL = new Set(["p50", "TTFT p95", "tok/s"]);

// The path of one model's metrics: the name is the rest of the path, `/` kept.
export function metricsPath(modelName) {
  return `/metrics/${modelName.split("/").map(encodeURIComponent).join("/")}`;
}

// The models on the page, by how many hosts ran them, most first, then by name.
export function comparableModels(models) {
  const hosts = new Map();
  for (const row of models) {
    if (!hosts.has(row.model_name)) hosts.set(row.model_name, new Set());
    hosts.get(row.model_name).add(hostOf(row));
  }
  return [...hosts.entries()]
    .sort(([a, x], [b, y]) => y.size - x.size || a.localeCompare(b))
    .map(([name, set]) => ({ name, hostCount: set.size }));
}

function best(rows, field, higher) {
  const values = rows.map((r) => r[field]).filter((v) => v !== null && v !== undefined);
  if (higher === null || values.length < 2) return null;
  return higher ? Math.max(...values) : Math.min(...values);
}

export function renderCompare(state) {
  const select = document.getElementById("compare-model");
  const models = comparableModels(Object.values(state.models));
  // With one host chosen the page knows that host's models only: no count of hosts.
  const label = (m) => (state.host ? m.name : `${m.name} (${m.hostCount} host${m.hostCount === 1 ? "" : "s"})`);
  select.replaceChildren(...models.map((m) => h("option", { value: m.name, text: label(m) })));
  select.value = state.compareModel;
  const rows = state.compareRows.filter((r) => r.model_name === state.compareModel)
    .sort((a, b) => hostOf(a).localeCompare(hostOf(b)));
  const bests = COLUMNS.map(([, field, , higher]) => best(rows, field, higher));
  replaceChildren("compare-body", rows.map((row) => h("tr", {
    class: hostOf(row) === state.host ? "chosen" : "", "data-host": hostOf(row),
  },
  h("td", { class: "name", text: hostOf(row) || "–" }),
  ...COLUMNS.map(([label, field, format], index) => h("td", {
    class: `n ${OPTIONAL.has(label) ? "opt" : ""} ${bests[index] !== null && row[field] === bests[index] ? "best" : ""}`,
    text: format(row[field]),
  })))));
  document.getElementById("compare-empty").hidden = rows.length > 0;
  setText("compare-hosts", rows.length ? `${rows.length} host${rows.length === 1 ? "" : "s"}` : "");
}
