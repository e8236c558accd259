/* Live progress of a knowledge-base reload on the console's Knowledge base page. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) return;
  var text = box.querySelector("pre");
  var bar = box.querySelector("progress");
  async function tick() {
    var response = await fetch("/admin/kb/progress", { credentials: "same-origin" });
    if (!response.ok) return;
    var job = await response.json();
    if (job.running) {
      text.textContent = "Reloading: " + (job.stage || "starting") + (job.total ? " " + job.done + "/" + job.total : "");
      bar.hidden = !job.total;
      if (job.total) { bar.max = job.total; bar.value = job.done; }
      window.setTimeout(tick, 700);
    } else {
      bar.hidden = true;
      text.textContent = job.result;
      if (box.dataset.running === "true") window.location.reload();
    }
  }
  if (box.dataset.running === "true") tick();
})();
