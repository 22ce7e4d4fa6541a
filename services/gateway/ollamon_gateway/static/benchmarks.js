// The Benchmarks card: the ranking (each (host, model)'s latest run, fastest warm eval first,
// with 95 % intervals), the comparisons against the previous server version (flagged ones
// first), and "Run benchmark": POST /benchmarks, then the run's progress from the stream
// (`benchmark_progress`) until its result (`benchmark_run`) reloads the ranking. With a host
// chosen in the host selector, the run is that host's probe's (`host` in the body).

import { getJson, postJson, withHost } from "./api.js";
import { fmt, h, replaceChildren, setText } from "./dom.js";

const MAX_MODELS = 50;

// "80.1 (78.0–82.3)": a mean and its interval; one sample has none to show.
export function withInterval(interval, format = (v) => fmt.num(v)) {
  if (!interval) return "–";
  if (interval.samples < 2 || interval.low === interval.high) return format(interval.mean);
  return `${format(interval.mean)} (${format(interval.low)}–${format(interval.high)})`;
}

function fits(value) {
  if (value === null || value === undefined) return h("span", { class: "muted", text: "–" });
  return h("span", { class: `tag ${value ? "ok" : "warn"}`, text: value ? "yes" : "no" });
}

function rankingRow(row) {
  return h("tr", { "data-model": row.model, "data-host": row.host },
    h("td", { class: "n", text: row.rank }),
    h("td", { class: "name model", title: row.model, text: row.model }),
    h("td", { class: "opt", text: row.host }),
    h("td", { class: "n eval", text: withInterval(row.eval_tokens_per_second) }),
    h("td", { class: "n opt", text: withInterval(row.ttft_ms, fmt.ms) }),
    h("td", { class: "n opt", text: fmt.ms(row.cold_load_ms) }),
    h("td", { class: "n opt", text: fmt.bytesGb(row.size_vram_bytes) }),
    h("td", {}, fits(row.fits_in_vram)),
    h("td", { class: "opt", title: row.gpu_name || "", text: row.server_version || "–" }));
}

function comparisonItem(item) {
  const cls = item.flagged ? (item.worse ? "alert sev-high" : "alert sev-low") : "alert resolved";
  return h("li", { class: cls, "data-flagged": item.flagged ? "yes" : "no" },
    h("div", { class: "row" },
      h("span", { text: item.message }),
      h("span", { class: "right muted", text: item.flagged ? (item.worse ? "slower" : "faster") : "within noise" })));
}

export function renderBenchmarks(reply) {
  const ranking = reply.ranking || [];
  const comparisons = (reply.comparisons || []).filter((item) => item.flagged);
  replaceChildren("benchmarks-body", ranking.map(rankingRow));
  replaceChildren("benchmark-flags", comparisons.map(comparisonItem));
  document.getElementById("benchmarks-empty").hidden = ranking.length > 0;
  const latest = (reply.runs || [])[0];
  setText("benchmarks-summary", latest
    ? `${reply.runs.length} run${reply.runs.length === 1 ? "" : "s"} · latest ${fmt.ago(latest.finished_at)}`
    : "");
}

// The form's body: models typed comma- or space-separated (none: every model listed); the
// chosen host's probe runs it (none chosen: any probe).
export function benchmarkBody(form) {
  const models = form.models.split(/[\s,]+/).filter(Boolean).slice(0, MAX_MODELS);
  return {
    models,
    repetitions: Number(form.repetitions),
    num_ctx: Number(form.numCtx),
    force: Boolean(form.force),
    requested_by: "dashboard",
    ...(form.host ? { host: form.host } : {}),
  };
}

export function wireBenchmarks(state) {
  const progress = document.getElementById("benchmark-progress");
  const result = document.getElementById("benchmark-result");
  const button = document.querySelector("#form-benchmark button");
  let runId = null;
  let warning = ""; // what the run's final progress adds to "done" (real traffic met)

  const say = (text, bad = false) => {
    result.className = bad ? "result bad" : "result";
    result.textContent = text;
  };
  const finish = () => {
    runId = null;
    progress.hidden = true;
    button.disabled = false;
  };
  const load = async () => {
    try {
      renderBenchmarks(await getJson(withHost("/benchmarks?limit=20", state.host)));
    } catch (error) {
      say(`benchmarks: ${error.message}`, true);
    }
  };

  document.getElementById("form-benchmark").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = benchmarkBody({
      models: document.getElementById("benchmark-models").value,
      repetitions: document.getElementById("benchmark-repetitions").value,
      numCtx: document.getElementById("benchmark-num-ctx").value,
      force: document.getElementById("benchmark-force").checked,
      host: state.host,
    });
    button.disabled = true;
    say("Starting…");
    try {
      const accepted = await postJson("/benchmarks", body);
      runId = accepted.run_id;
      progress.hidden = false;
      progress.max = Math.max(1, accepted.total_steps);
      progress.value = 0;
      say(`Run ${runId}: ${accepted.models.join(", ") || "every model"}…`);
    } catch (error) {
      finish();
      say(error.message, true);
    }
  });

  const handlers = {
    benchmark_progress(step) {
      if (runId === null || step.run_id !== runId) return;
      progress.max = Math.max(1, step.total_steps);
      progress.value = step.step;
      const where = [step.model, step.case].filter(Boolean).join(" · ");
      if (step.state === "failed") {
        finish();
        say(`Run ${step.run_id} failed: ${step.message}`, true);
      } else if (step.state === "done") {
        warning = step.message.replace(/^done;?\s*/, "");
      } else {
        say(`Run ${step.run_id}: step ${step.step} of ${step.total_steps}${where ? ` · ${where}` : ""}`);
      }
    },
    benchmark_run(run) {
      if (runId !== null && run.run_id === runId) {
        finish();
        const measured = `${run.models.length} model${run.models.length === 1 ? "" : "s"} measured`;
        say(`Run ${run.run_id} done: ${measured}${warning ? `; ${warning}` : "."}`);
        warning = "";
      }
      // Storage commits the run a moment after the stream shows it.
      setTimeout(load, 500);
      setTimeout(load, 2000);
    },
  };
  load();
  return { load, handlers };
}
