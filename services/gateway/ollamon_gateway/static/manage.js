// Alert management from the dashboard: silences (create, expire), acknowledgements and
// threshold changes. Every change is a JSON request of this page (`sendJson`: the
// same-origin guard, the token when set); the author is remembered in this browser.

import { sendJson } from "./api.js";
import { alertKey, logAlert } from "./live.js";
import { prefillSilence, resetSilenceForm, silenceBody } from "./silences.js";

const AUTHOR_KEY = "ollamon-author";

export function author() {
  return localStorage.getItem(AUTHOR_KEY) || "";
}

function rememberAuthor(value) {
  if (value) localStorage.setItem(AUTHOR_KEY, value);
}

// Who makes a change (required: the audit trail names someone), or null with the form's
// author field pointed out.
function requireAuthor(resultId) {
  const name = author();
  if (name) return name;
  show(resultId, "Fill in the author field of the silence form first: every change is audited under a name.", true);
  document.getElementById("silence-author").focus();
  return null;
}

function show(id, text, bad = false) {
  const node = document.getElementById(id);
  node.className = `result${bad ? " bad" : ""}`;
  node.textContent = text;
}

// `reload` is { silences(), thresholds(), alerts() }; `mark` redraws panels.
export function managementActions(state, mark, reload) {
  async function acknowledge(alert, button) {
    const who = requireAuthor("alert-result");
    if (!who) return;
    button.disabled = true;
    try {
      const reply = await sendJson("POST", `/alerts/${encodeURIComponent(alert.fingerprint)}/acknowledge`,
        { author: who, comment: "" });
      const active = state.activeAlerts[alertKey(alert)];
      if (active) {
        const acknowledged = {
          ...active,
          acknowledged_by: reply?.acknowledged_by ?? who,
          acknowledged_at: reply?.acknowledged_at ?? new Date().toISOString(),
        };
        state.activeAlerts[alertKey(alert)] = acknowledged;
        logAlert(state, acknowledged);
      }
      show("alert-result", `Acknowledged ${alert.alert_type}${alert.model_name ? ` (${alert.model_name})` : ""}.`);
      mark("alerts");
      reload.alerts();
    } catch (error) {
      button.disabled = false;
      show("alert-result", `Acknowledge: ${error.message}`, true);
    }
  }

  async function expire(silence, button) {
    const who = requireAuthor("silence-result");
    if (!who) return;
    button.disabled = true;
    try {
      const query = new URLSearchParams({ author: who });
      await sendJson("DELETE", `/silences/${encodeURIComponent(silence.silence_id)}?${query}`);
      state.silences = state.silences.filter((s) => s.silence_id !== silence.silence_id);
      show("silence-result", "Silence expired.");
      mark("silences");
      reload.silences();
      reload.alerts();
    } catch (error) {
      button.disabled = false;
      show("silence-result", `Expire: ${error.message}`, true);
    }
  }

  async function create(event) {
    event.preventDefault();
    const body = silenceBody();
    rememberAuthor(body.author);
    show("silence-result", "…");
    try {
      const silence = await sendJson("POST", "/silences", body);
      if (silence?.silence_id && !state.silences.some((s) => s.silence_id === silence.silence_id)) {
        state.silences.push(silence);
      }
      resetSilenceForm();
      show("silence-result", `Silence ${silence?.silence_id ?? ""} in force.`);
      mark("silences");
      reload.silences();
      reload.alerts();
    } catch (error) {
      show("silence-result", error.message, true);
    }
  }

  async function saveThreshold(rule, value, row) {
    const who = requireAuthor("threshold-result");
    if (!who) return;
    row.error.textContent = "";
    row.input.removeAttribute("aria-invalid");
    row.button.disabled = true;
    const comment = document.getElementById("threshold-comment").value.trim();
    try {
      const threshold = value.trim() === "" ? null : Number(value);
      await sendJson("PUT", `/thresholds/${encodeURIComponent(rule.rule)}`,
        { threshold, author: who, comment });
      show("threshold-result", `${rule.title || rule.rule}: ${threshold} ${rule.unit}.`);
      reload.thresholds();
      reload.alerts();
    } catch (error) {
      row.error.textContent = error.message;
      row.input.setAttribute("aria-invalid", "true");
      show("threshold-result", `${rule.rule}: refused`, true);
    } finally {
      row.button.disabled = false;
    }
  }

  const authorInput = document.getElementById("silence-author");
  authorInput.value = author();
  authorInput.addEventListener("input", () => rememberAuthor(authorInput.value.trim()));
  document.getElementById("form-silence").addEventListener("submit", create);
  document.getElementById("form-thresholds").addEventListener("submit", (e) => e.preventDefault());

  return { acknowledge, expire, saveThreshold, silence: prefillSilence };
}
