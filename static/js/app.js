// Small behaviours on top of server-rendered pages; every page works without them.
"use strict";

// A range slider shows its value in the number field beside it while it moves; the form sends
// the number once, when the slider is released. Typing a number moves the slider along.
document.addEventListener("input", (event) => {
  const target = event.target;
  if (!target.matches) return;
  if (target.matches("input[type=range][data-output]")) {
    const number = document.getElementById(target.dataset.output);
    if (number) number.value = target.value;
  } else if (target.matches("input.qty")) {
    const slider = target.form.querySelector("input[type=range]");
    if (slider && target.value !== "") {
      if (Number(target.value) > Number(slider.max)) slider.max = target.value;
      slider.value = target.value;
    }
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
