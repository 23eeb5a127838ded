// Small behaviours on top of server-rendered pages; every page works without them.
"use strict";

// A range slider shows its value while it moves; the change is sent once, on release.
document.addEventListener("input", (event) => {
  const slider = event.target;
  if (slider.matches && slider.matches("input[type=range][data-output]")) {
    const output = document.getElementById(slider.dataset.output);
    if (output) output.textContent = slider.value;
  }
});

// The live log tail: lines arrive over Server-Sent Events already escaped and rendered by the
// server; the page keeps the last MAX_LINES and follows the bottom unless scrolled up.
const MAX_LINES = 2000;

function startTail(box) {
  const state = document.querySelector("[data-tail-state]");
  const source = new EventSource(box.dataset.stream);
  source.onopen = () => { if (state) state.textContent = "connected"; };
  source.onerror = () => { if (state) state.textContent = "reconnecting…"; };
  source.onmessage = (event) => {
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const empty = box.querySelector(".log-empty");
    if (empty) empty.remove();
    box.insertAdjacentHTML("beforeend", event.data);
    while (box.childElementCount > MAX_LINES) box.firstElementChild.remove();
    if (atBottom) box.scrollTop = box.scrollHeight;
  };
  window.addEventListener("pagehide", () => source.close());
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("log-lines");
  if (box && box.dataset.stream && window.EventSource) {
    box.scrollTop = box.scrollHeight;
    startTail(box);
  }
});

// Filters that apply as soon as they change.
document.addEventListener("change", (event) => {
  if (event.target.matches && event.target.matches("select[data-autosubmit]")) {
    event.target.form.requestSubmit();
  }
});
