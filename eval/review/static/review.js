// MOUD review page. Dataset text is only ever set with textContent (never parsed as HTML).
// The access token comes from the URL fragment (#TOKEN), is kept in sessionStorage for reloads and sent
// as a Bearer header; ratings are queued (also in sessionStorage) and re-sent until the server accepts
// them, so a server restart or a reload loses nothing.
"use strict";

const KEY = { token: "moud-review-token", session: "moud-review-session", index: "moud-review-index", queue: "moud-review-queue" };
const S = { error: null, token: null, session: null, me: null, index: 0, item: null, scores: {}, mark: null, current: 0, queue: [], sending: false, retry: 0 };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function show(message) {
  $("message").textContent = message;
  $("message").hidden = false;
  $("main").hidden = true;
}

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

function renderRubric() {
  const box = $("criteria");
  box.replaceChildren();
  S.me.criteria.forEach((c, ci) => {
    const card = el("div", "criterion");
    card.dataset.criterion = c.name;
    card.appendChild(el("h3", null, c.name.replace(/_/g, " ") + (c.direction === "lower_is_better" ? " (lower is better)" : "")));
    card.appendChild(el("p", "desc", c.focus ? c.description + " " + c.focus : c.description));
    const levels = el("div", "levels");
    Object.keys(c.scale).sort().forEach((level) => {
      const b = el("button");
      b.type = "button";
      b.dataset.score = level;
      b.title = `${level}: ${c.scale[level]} (key ${level})`;
      b.appendChild(el("b", null, level));
      b.appendChild(el("span", null, c.scale[level]));
      b.addEventListener("click", (e) => { e.stopPropagation(); S.current = ci; score(Number(level)); });
      levels.appendChild(b);
    });
    card.appendChild(levels);
    card.addEventListener("click", () => { S.current = ci; renderState(); });
    box.appendChild(card);
  });
}

function renderState() {
  document.querySelectorAll(".criterion").forEach((card, ci) => {
    card.classList.toggle("current", ci === S.current);
    if (ci === S.current && card.scrollIntoView) card.scrollIntoView({ block: "nearest" });
    const chosen = S.scores[card.dataset.criterion];
    card.querySelectorAll("button").forEach((b) => {
      const on = Number(b.dataset.score) === chosen;
      b.classList.toggle("selected", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  });
  $("skip").classList.toggle("on", S.mark === "skip");
  $("foreign").classList.toggle("on", S.mark === "not_my_language");
  $("mark-badge").hidden = !S.mark;
  $("mark-badge").textContent = S.mark === "skip" ? "skipped" : S.mark ? "not my language" : "";
  $("prev").disabled = S.index <= 0;
  $("next").disabled = S.index >= S.me.progress.total - 1;
}

function renderItem(data) {
  const it = data.item;
  const lang = S.me.language;
  $("position").textContent = `Item ${data.index + 1} of ${data.total}`;
  $("item-id").textContent = "· " + it.item_id;
  const content = $("content");
  content.lang = lang.code;
  content.dir = lang.direction;
  $("event-name").textContent = it.speech_event.name + (it.speech_event.definition ? ":" : "");
  $("event-def").textContent = it.speech_event.definition;
  for (const [id, lines] of [["persona-a", it.persona_a], ["persona-b", it.persona_b]]) {
    $(id).replaceChildren(...lines.map((s) => el("li", null, s)));
  }
  $("common-ground").textContent = it.common_ground;
  $("turns").replaceChildren(...it.turns.map((t) => {
    const li = el("li", "turn " + (t.speaker === "B" ? "B" : "A"));
    li.appendChild(el("span", "speaker", t.speaker));
    li.appendChild(el("span", "text", t.text));
    return li;
  }));
}

async function load(index) {
  const r = await api("GET", `/api/items/${index}`);
  if (r.status !== 200) { $("save").textContent = "Could not load the item (" + r.status + ")"; return; }
  S.index = index;
  S.item = r.data.item;
  S.scores = r.data.scores || {};
  S.mark = r.data.mark;
  // ratings still queued for this item win over what the server has not seen yet
  for (const job of S.queue) {
    if (job.body.item_id !== S.item.item_id) continue;
    if (job.path === "/api/ratings") { S.scores[job.body.criterion] = job.body.score; S.mark = null; }
    else { S.mark = job.body.mark; if (S.mark) S.scores = {}; }
  }
  const firstOpen = S.me.criteria.findIndex((c) => !(c.name in S.scores));
  S.current = firstOpen < 0 ? 0 : firstOpen;
  sessionStorage.setItem(KEY.index, String(index));
  renderItem(r.data);
  renderState();
  window.scrollTo(0, 0);
}

function score(value) {
  const c = S.me.criteria[S.current];
  if (!c || !(String(value) in c.scale)) return;
  S.scores[c.name] = value;
  S.mark = null;
  send("/api/ratings", { item_id: S.item.item_id, criterion: c.name, score: value });
  if (S.current < S.me.criteria.length - 1) S.current += 1;
  renderState();
}

function setMark(mark) {
  const next = S.mark === mark ? null : mark;
  S.mark = next;
  if (next) S.scores = {};
  send("/api/marks", { item_id: S.item.item_id, mark: next });
  renderState();
  if (next) move(1);
}

function move(step) {
  const to = S.index + step;
  if (to >= 0 && to < S.me.progress.total) load(to);
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || !S.item) return;
  const n = S.me.criteria.length;
  if (/^[1-9]$/.test(e.key)) { score(Number(e.key)); }
  else if (e.key === "ArrowDown") { S.current = (S.current + 1) % n; renderState(); }
  else if (e.key === "ArrowUp") { S.current = (S.current + n - 1) % n; renderState(); }
  else if (e.key === "ArrowRight") { move(1); }
  else if (e.key === "ArrowLeft") { move(-1); }
  else if (e.key === "s" || e.key === "S") { setMark("skip"); }
  else if (e.key === "n" || e.key === "N") { setMark("not_my_language"); }
  else return;
  e.preventDefault();
}

async function start() {
  const fromLink = location.hash.length > 1 ? decodeURIComponent(location.hash.slice(1)) : null;
  if (fromLink) {
    if (fromLink !== sessionStorage.getItem(KEY.token)) {
      for (const k of [KEY.session, KEY.index, KEY.queue]) sessionStorage.removeItem(k);
    }
    sessionStorage.setItem(KEY.token, fromLink);
    history.replaceState(null, "", location.pathname);   // the token leaves the address bar and history
  }
  S.token = sessionStorage.getItem(KEY.token);
  if (!S.token) { show("Open the personal link you were given (it ends with #…)."); return; }
  S.queue = JSON.parse(sessionStorage.getItem(KEY.queue) || "[]");
  const r = await api("GET", "/api/me");
  if (r.status !== 200) { show("This link is not valid. Ask the organiser for your personal link."); return; }
  S.me = r.data;
  S.session = sessionStorage.getItem(KEY.session);
  if (!S.session) await newSession();
  $("who").textContent = `${S.me.rater} · ${S.me.language.native_name} (${S.me.language.name})`;
  setProgress(S.me.progress);
  renderRubric();
  $("main").hidden = false;
  $("prev").addEventListener("click", () => move(-1));
  $("next").addEventListener("click", () => move(1));
  $("skip").addEventListener("click", () => setMark("skip"));
  $("foreign").addEventListener("click", () => setMark("not_my_language"));
  document.addEventListener("keydown", onKey);
  const saved = sessionStorage.getItem(KEY.index);
  const total = S.me.progress.total;
  if (!total) { show("No items are assigned to you."); return; }
  await load(saved !== null && Number(saved) < total ? Number(saved) : S.me.progress.first_open);
  setSave();
  flush();
}

window.addEventListener("hashchange", () => location.reload());   // another rater's link in this tab
document.addEventListener("DOMContentLoaded", () => { start().catch(() => show("The review server cannot be reached. Reload the page to try again.")); });
