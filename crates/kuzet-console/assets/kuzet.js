// Kuzet console: countdown clocks, the overview's live stream, the alert queue's bulk form. No framework.
"use strict";

// The server's clock, not the browser's, decides what is overdue: the page says when the server rendered it.
let skew = 0;
function syncClock(root) {
  const marked = root.querySelector("[data-now]");
  if (marked) skew = Date.parse(marked.dataset.now) - Date.now();
}

function two(n) { return String(n).padStart(2, "0"); }

function tick() {
  const now = Date.now() + skew;
  for (const el of document.querySelectorAll("time.countdown")) {
    const left = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
    const abs = Math.abs(left);
    const text = (abs >= 86400 ? Math.floor(abs / 86400) + "d " : "") +
      two(Math.floor(abs % 86400 / 3600)) + ":" + two(Math.floor(abs % 3600 / 60)) + ":" + two(abs % 60);
    el.textContent = left < 0 ? "−" + text + " " + (el.dataset.overdue || "") : text;
    el.classList.toggle("overdue", left < 0);
  }
}

function live() {
  const box = document.getElementById("overview");
  if (!box || !box.dataset.live || !window.EventSource) return;
  const source = new EventSource(box.dataset.live);
  source.addEventListener("overview", (e) => {
    box.innerHTML = e.data; // rendered and escaped by the server's templates
    syncClock(box);
    tick();
    box.dataset.updated = String(Date.now());
  });
  source.addEventListener("signed-out", () => { source.close(); window.location.assign("/console/login"); });
}

function bulk() {
  for (const all of document.querySelectorAll("input.check-all")) {
    all.addEventListener("change", () => {
      for (const box of all.closest("form").querySelectorAll("input[name=alert]")) box.checked = all.checked;
    });
  }
  for (const action of document.querySelectorAll("select.bulk-action")) {
    const promote = action.closest("fieldset").querySelector(".promote");
    const show = () => { promote.hidden = action.value !== "promote"; };
    action.addEventListener("change", show);
    show();
  }
}

// Field completion: the field names starting with the word being typed, offered as the whole query so far.
function completion() {
  for (const input of document.querySelectorAll("input.query[data-fields]")) {
    const list = document.getElementById(input.getAttribute("list"));
    const fields = input.dataset.fields.split(" ").filter(Boolean);
    input.addEventListener("input", () => {
      const text = input.value;
      const start = Math.max(text.lastIndexOf(" "), text.lastIndexOf("(")) + 1;
      const word = text.slice(start);
      list.replaceChildren();
      if (!word || word.includes(":")) return;
      for (const field of fields.filter((f) => f.startsWith(word)).slice(0, 20)) {
        const option = document.createElement("option");
        option.value = text.slice(0, start) + field + ":";
        list.append(option);
      }
    });
  }
  for (const range of document.querySelectorAll("select.range")) {
    const custom = range.form.querySelector(".custom-range");
    const show = () => { custom.hidden = range.value !== "custom"; };
    range.addEventListener("change", show);
    show();
  }
}

// Evidence files go to the API as the request body (hashed there while stored), with the page's CSRF token.
function uploads() {
  for (const form of document.querySelectorAll("form[data-upload]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = form.querySelector("input[type=file]").files[0];
      const reason = form.querySelector("input[name=reason]").value;
      const said = form.querySelector("[role=alert]");
      if (!file) return;
      const url = `${form.dataset.upload}?name=${encodeURIComponent(file.name)}&reason=${encodeURIComponent(reason)}`;
      const answer = await fetch(url, { method: "POST", body: file, credentials: "same-origin",
        headers: { "X-CSRF-Token": form.dataset.csrf, "Content-Type": "application/octet-stream" } });
      if (answer.ok) { window.location.reload(); return; }
      let message = `${answer.status}`;
      try { message = (await answer.json()).error.message; } catch (_) { /* not JSON */ }
      said.textContent = `${form.dataset.failed}: ${message}`;
      said.hidden = false;
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  syncClock(document);
  tick();
  setInterval(tick, 1000);
  live();
  bulk();
  completion();
  uploads();
});
