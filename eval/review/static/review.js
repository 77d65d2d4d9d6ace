// MOUD review page. Dataset text is only ever set with textContent (never parsed as HTML).
// The access token comes from the URL fragment (#TOKEN), is kept in sessionStorage for reloads and sent
// as a Bearer header; ratings are queued (also in sessionStorage) and re-sent until the server accepts
// them, so a server restart or a reload loses nothing. A mark (skip, not my language) hides an item's scores
// and can be undone (u) to bring them back; after the last criterion nothing stays highlighted, so a stray
// digit changes nothing. Each text is direction-isolated and shows invisible characters as markers.
"use strict";

const KEY = { token: "moud-review-token", session: "moud-review-session", index: "moud-review-index", queue: "moud-review-queue" };
const S = { error: null, token: null, session: null, me: null, index: 0, item: null, scores: {}, kept: {}, mark: null, current: 0, queue: [], sending: false, retry: 0, undo: null };
const MARK_NAMES = { skip: "skipped", not_my_language: "not my language" };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function plural(n, what) { return `${n} ${what}${n === 1 ? "" : "s"}`; }

function notify(text, undo) {
  S.undo = undo || null;
  $("notice-text").textContent = text;
  $("undo").hidden = !undo;
  $("notice").hidden = false;
}

function show(message) {
  $("message").textContent = message;
  $("message").hidden = false;
  $("main").hidden = true;
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
  const kept = Object.keys(S.kept).length;
  $("mark-badge").textContent = S.mark ? MARK_NAMES[S.mark] + (kept ? ` · ${plural(kept, "score")} kept (${S.mark === "skip" ? "s" : "n"} again brings them back)` : "") : "";
  $("done-hint").hidden = S.current >= 0;
  $("done-hint").classList.remove("flash");
  $("done-hint").textContent = "All criteria scored. → next item; ↑ ↓ or a click picks a criterion to change.";
  $("prev").disabled = S.index <= 0;
  $("next").disabled = S.index >= S.me.progress.total - 1;
}

function renderItem(data) {
  const it = data.item;
  const lang = S.me.language;
  $("position").textContent = `Item ${data.index + 1} of ${data.total}`;
  $("item-id").textContent = "· " + it.item_id;
  const content = $("content");
  const invisible = it.invisible || {};
  content.lang = lang.code;
  content.dir = lang.direction;
  $("event-name").textContent = it.speech_event.name + (it.speech_event.definition ? ":" : "");
  $("event-def").textContent = it.speech_event.definition;
  for (const [id, lines] of [["persona-a", it.persona_a], ["persona-b", it.persona_b]]) {
    $(id).replaceChildren(...lines.map((s) => { const li = el("li"); li.appendChild(textEl("span", "text", s, invisible, lang.direction)); return li; }));
  }
  $("common-ground").replaceChildren(textEl("span", "text", it.common_ground, invisible, lang.direction));
  $("turns").replaceChildren(...it.turns.map((t) => {
    const li = el("li", "turn " + (t.speaker === "B" ? "B" : "A"));
    li.appendChild(el("span", "speaker", t.speaker));
    li.appendChild(textEl("span", "text", t.text, invisible, lang.direction));
    return li;
  }));
  const shown = [...new Set([...content.querySelectorAll(".invisible")].map((m) => m.dataset.code))];
  $("invisible-note").hidden = !shown.length;
  $("invisible-note").textContent = shown.length ? `Invisible characters in this dialogue are shown as boxed code points (hover for the name): ${shown.map((c) => c + " " + invisible[c]).join(", ")}.` : "";
}

async function load(index) {
  const r = await api("GET", `/api/items/${index}`);
  if (r.status !== 200) { $("save").textContent = "Could not load the item (" + r.status + ")"; return; }
  S.index = index;
  S.item = r.data.item;
  S.scores = r.data.scores || {};
  S.kept = r.data.kept || {};
  S.mark = r.data.mark;
  // changes still queued for this item win over what the server has not seen yet
  for (const job of S.queue) {
    if (job.body.item_id !== S.item.item_id) continue;
    if (job.path === "/api/ratings") applyScore(job.body.criterion, job.body.score);
    else applyMark(job.body.mark);
  }
  const firstOpen = S.me.criteria.findIndex((c) => !(c.name in S.scores));
  S.current = firstOpen;   // -1 on a fully rated item: a stray digit changes nothing
  sessionStorage.setItem(KEY.index, String(index));
  renderItem(r.data);
  renderState();
  window.scrollTo(0, 0);
}

// The server's rules, applied to the page's copy of the item: a mark hides the scores (kept), removing it
// brings them back; a score on a marked item starts it afresh (score() removes the mark first).
function applyMark(mark) {
  if (mark && !S.mark) { S.kept = S.scores; S.scores = {}; }
  if (!mark && S.mark) { S.scores = S.kept; S.kept = {}; }
  S.mark = mark;
}

function applyScore(criterion, value) {
  if (S.mark) { S.mark = null; S.kept = {}; S.scores = {}; }
  S.scores[criterion] = value;
}

function score(value) {
  const c = S.me.criteria[S.current];
  if (!c) {
    $("done-hint").classList.add("flash");
    $("done-hint").textContent = "Nothing changed: no criterion is highlighted. ↑ ↓ or a click picks the one to change.";
    return;
  }
  if (!(String(value) in c.scale)) return;
  if (S.mark) {   // scoring a marked item: the mark goes and its kept scores come back first
    const n = Object.keys(S.kept).length;
    notify(`Item ${S.index + 1}: “${MARK_NAMES[S.mark]}” removed` + (n ? `; its ${plural(n, "score")} count again` : ""));
    applyMark(null);
    send("/api/marks", { item_id: S.item.item_id, mark: null });
  }
  applyScore(c.name, value);
  send("/api/ratings", { item_id: S.item.item_id, criterion: c.name, score: value });
  if (S.current < S.me.criteria.length - 1) S.current += 1;
  else S.current = S.me.criteria.findIndex((k) => !(k.name in S.scores));   // -1 once all are scored
  renderState();
}

function setMark(mark) {
  const next = S.mark === mark ? null : mark;
  const undo = { index: S.index, item_id: S.item.item_id, mark: S.mark };
  applyMark(next);
  S.current = S.me.criteria.findIndex((c) => !(c.name in S.scores));
  send("/api/marks", { item_id: S.item.item_id, mark: next });
  const n = Object.keys(next ? S.kept : S.scores).length;
  notify(next ? `Item ${S.index + 1} marked “${MARK_NAMES[next]}”` + (n ? `; its ${plural(n, "score")} are kept, not counted.` : ".")
    : `Item ${S.index + 1}: “${MARK_NAMES[undo.mark]}” removed` + (n ? `; its ${plural(n, "score")} count again.` : "."), undo);
  renderState();
  if (next) move(1);
}

async function undo() {
  const u = S.undo;
  if (!u) return;
  S.undo = null;
  send("/api/marks", { item_id: u.item_id, mark: u.mark });
  await load(u.index);
  if (S.item && S.item.item_id === u.item_id && S.mark !== u.mark) {   // the page read it before the change landed
    applyMark(u.mark);
    S.current = S.me.criteria.findIndex((c) => !(c.name in S.scores));
    renderState();
  }
  const n = Object.keys(u.mark ? S.kept : S.scores).length;
  notify(`Undone: item ${u.index + 1} is ` + (u.mark ? `marked “${MARK_NAMES[u.mark]}” again.` : `back with its ${plural(n, "score")}.`));
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
  else if (e.key === "ArrowUp") { S.current = S.current <= 0 ? n - 1 : S.current - 1; renderState(); }
  else if (e.key === "ArrowRight") { move(1); }
  else if (e.key === "ArrowLeft") { move(-1); }
  else if (e.key === "s" || e.key === "S") { setMark("skip"); }
  else if (e.key === "n" || e.key === "N") { setMark("not_my_language"); }
  else if (e.key === "u" || e.key === "U") { undo(); }
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
  $("undo").addEventListener("click", () => undo());
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
