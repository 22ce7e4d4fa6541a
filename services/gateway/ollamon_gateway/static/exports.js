// Export as a download: storage writes the export (POST /export), then the browser fetches
// the file through the gateway (GET /export/<path>, streamed from storage in chunks) with a
// progress bar, and saves it under its own name. CSV is one file per table: the requests
// table downloads, each other table is a link beside it.

import { postJson } from "./api.js";

const DOWNLOAD_BASE = "/api/ai/ollama/performance/export/";

export function downloadUrl(path) {
  return DOWNLOAD_BASE + path.split("/").map(encodeURIComponent).join("/");
}

function fileName(path) {
  return path.split("/").pop();
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function showProgress(progress, received, total) {
  progress.hidden = false;
  progress.max = total || 1;
  progress.value = received;
  progress.textContent = total ? `${Math.round((100 * received) / total)} %` : bytes(received);
  progress.title = total ? `${bytes(received)} of ${bytes(total)}` : bytes(received);
}

// Read the response body chunk by chunk (the progress), then hand the file to the browser.
async function fetchFile(path, progress) {
  const response = await fetch(downloadUrl(path));
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch { /* not a problem body */ }
    throw new Error(`Download of ${fileName(path)}: ${detail}`);
  }
  const total = Number(response.headers.get("Content-Length")) || 0;
  const reader = response.body.getReader();
  const parts = [];
  let received = 0;
  showProgress(progress, 0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.length;
    showProgress(progress, received, total);
  }
  if (total && received !== total) throw new Error(`Download of ${fileName(path)} was cut short`);
  const type = response.headers.get("Content-Type") || "application/octet-stream";
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName(path);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return received;
}

function otherFileLinks(files) {
  const list = document.getElementById("export-files");
  list.replaceChildren(...files.flatMap((path) => {
    const link = document.createElement("a");
    link.href = downloadUrl(path);
    link.download = fileName(path);
    link.textContent = fileName(path);
    return [link, " "];
  }));
  list.hidden = files.length === 0;
}

// The Export button: export, download, say what came. `format` is "json" or "csv".
export async function exportAndDownload(format) {
  const progress = document.getElementById("export-progress");
  otherFileLinks([]);
  const reply = await postJson("/export", { format });
  const rows = Object.values(reply.row_counts).reduce((a, b) => a + b, 0);
  try {
    const size = await fetchFile(reply.path, progress);
    otherFileLinks((reply.files || []).filter((path) => path !== reply.path));
    return `Exported ${rows} rows: downloaded ${fileName(reply.path)} (${bytes(size)}).`;
  } finally {
    progress.hidden = true;
  }
}

// The Clean up button asks first; only then is `confirm: true` sent (the gateway refuses
// `days_to_keep: 0` without it).
export function cleanupQuestion(days) {
  return days === 0
    ? "Delete the WHOLE history (every request, sample and alert)? This cannot be undone."
    : `Delete the history older than ${days} days? This cannot be undone.`;
}
