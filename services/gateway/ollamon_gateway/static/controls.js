// The Controls card: monitoring start/stop, export, cleanup and the API token.

import { postJson, setToken, token } from "./api.js";
import { cleanupQuestion, exportAndDownload } from "./exports.js";

// Run `action`, showing its answer (or its error) in `result`.
export async function report(result, action) {
  result.className = "result";
  result.textContent = "…";
  try {
    result.textContent = await action();
  } catch (error) {
    result.className = "result bad";
    result.textContent = error.message;
  }
}

export function wireControls(state, mark) {
  const result = document.getElementById("control-result");
  const control = (action) => report(result, action);
  const tokenInput = document.getElementById("token");
  tokenInput.value = token();
  tokenInput.addEventListener("change", () => setToken(tokenInput.value.trim()));
  document.getElementById("form-token").addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("form-monitoring").addEventListener("submit", (e) => {
    e.preventDefault();
    const interval = Number(document.getElementById("interval").value);
    control(async () => {
      state.monitoring = await postJson("/monitoring/start", { interval });
      mark("status");
      return `Monitoring every ${interval} s.`;
    });
  });
  document.getElementById("stop").addEventListener("click", () => control(async () => {
    state.monitoring = await postJson("/monitoring/stop");
    mark("status");
    return "Monitoring stopped.";
  }));
  document.getElementById("form-export").addEventListener("submit", (e) => {
    e.preventDefault();
    const format = document.getElementById("export-format").value;
    control(() => exportAndDownload(format));
  });
  document.getElementById("form-cleanup").addEventListener("submit", (e) => {
    e.preventDefault();
    const days = Number(document.getElementById("cleanup-days").value);
    if (!window.confirm(cleanupQuestion(days))) {
      result.className = "result";
      result.textContent = "Clean up cancelled: nothing deleted.";
      return;
    }
    control(async () => {
      const reply = await postJson("/cleanup", { days_to_keep: days, confirm: true });
      const rows = Object.values(reply.deleted).reduce((a, b) => a + b, 0);
      return `Deleted ${rows} rows older than ${days} days.`;
    });
  });
}
