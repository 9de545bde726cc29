// Running rows tick in the browser: the server sends a row once when its task
// starts, and the elapsed time and waiting bar move here without any traffic.
(function () {
  "use strict";

  function seconds(value) {
    if (value < 60) return value.toFixed(1) + " s";
    const minutes = Math.floor(value / 60);
    return minutes + " min " + String(Math.floor(value % 60)).padStart(2, "0") + " s";
  }

  function tick(run) {
    if (!run.dataset.seenAt) run.dataset.seenAt = String(performance.now());
    const elapsed =
      parseFloat(run.dataset.elapsed || "0") +
      (performance.now() - parseFloat(run.dataset.seenAt)) / 1000;
    const delay = parseFloat(run.dataset.delay || "0");
    const waiting = elapsed < delay;
    run.classList.toggle("waiting", waiting);
    const bar = run.querySelector(".run-bar");
    if (bar && waiting) bar.style.width = Math.min(100, (100 * elapsed) / delay) + "%";
    const label = run.querySelector(".run-label");
    if (label) label.textContent = (waiting ? "Waiting · " : "Converting · ") + seconds(elapsed);
  }

  setInterval(function () {
    document.querySelectorAll(".run[data-elapsed]").forEach(tick);
  }, 250);
})();
