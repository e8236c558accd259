/* Live progress of a knowledge-base reload on the console's Knowledge base page. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) return;
  var text = box.querySelector("pre");
  var bar = box.querySelector("progress");
  // Every 1.5 s, under the per-address limit of 120 requests a minute even with a second tab open; a failed
  // check (the limit, a restart) is tried again, slower, rather than leaving the display frozen.
  var every = 1500;
  async function tick() {
    var response;
    try { response = await fetch("/admin/kb/progress", { credentials: "same-origin" }); } catch (e) { response = null; }
    if (!response || !response.ok) { window.setTimeout(tick, every * 4); return; }
    var job = await response.json();
    if (job.running) {
      text.textContent = "Reloading: " + (job.stage || "starting") + (job.total ? " " + job.done + "/" + job.total : "");
      bar.hidden = !job.total;
      if (job.total) { bar.max = job.total; bar.value = job.done; }
      window.setTimeout(tick, every);
    } else {
      bar.hidden = true;
      text.textContent = job.result;
      // The page anew (a GET: this one may be the answer to a refused form, which a reload would send again).
      if (box.dataset.running === "true") window.location.replace("/admin/kb");
    }
  }
  if (box.dataset.running === "true") tick();
})();
