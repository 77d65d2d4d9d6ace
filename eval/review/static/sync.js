// Talking to the review server: the API call, and the queue of changes (kept in sessionStorage) that is
// re-sent until the server accepts each one, so a server restart or a reload loses nothing.
"use strict";

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + S.token };
  if (method === "POST" && S.session) headers["X-Review-Session"] = S.session;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, data };
}

function saveQueue() { sessionStorage.setItem(KEY.queue, JSON.stringify(S.queue)); }

function setSave() {
  const pending = S.queue.length;
  const box = $("save");
  box.classList.toggle("offline", S.retry > 0 || S.error !== null);
  box.textContent = S.retry > 0 ? `Server unreachable: ${pending} change(s) kept, retrying…`
    : S.error ? `Not saved: ${S.error}` : pending ? "Saving…" : "All changes saved";
}

function setProgress(p) {
  if (!p) return;
  const parts = [`${p.done} of ${p.total} done`];
  if (p.skipped) parts.push(`${p.skipped} skipped`);
  if (p.not_my_language) parts.push(`${p.not_my_language} not my language`);
  $("progress-text").textContent = parts.join(" · ");
  $("progress-fill").style.width = (p.total ? (100 * p.done / p.total) : 0) + "%";
}

async function newSession() {
  const r = await api("POST", "/api/session");
  if (r.status !== 200) throw new Error("session");
  S.session = r.data.session;
  sessionStorage.setItem(KEY.session, S.session);
}

async function flush() {
  if (S.sending) return;
  S.sending = true;
  try {
    while (S.queue.length) {
      const job = S.queue[0];
      let r;
      try {
        r = await api("POST", job.path, job.body);
      } catch (e) {
        r = { status: 0, data: null };
      }
      if (r.status === 403 && r.data && /session/.test(r.data.error || "")) {
        try { await newSession(); continue; } catch (e) { r = { status: 0 }; }
      }
      if (r.status === 0 || r.status >= 500) {
        S.retry += 1;
        setSave();
        await new Promise((ok) => setTimeout(ok, Math.min(5000, 500 * S.retry)));
        continue;
      }
      S.retry = 0;
      S.queue.shift();
      saveQueue();
      S.error = r.status === 200 ? null : String((r.data && r.data.error) || r.status);
      if (r.status === 200) setProgress(r.data.progress);
    }
  } finally {
    S.sending = false;
    if (!S.queue.length) setSave();
  }
}

function send(path, body) {
  S.queue.push({ path, body });
  saveQueue();
  setSave();
  flush();
}
