// veritrain explorer: live updates by polling the page's own JSON API, and the loss curve (uPlot).
"use strict";
const VT = (() => {
  const every = (fn) => { fn(); setInterval(fn, window.VT_LIVE_MS || 2000); };
  const live = document.getElementById("live");

  async function getJson(url) {
    try {
      const r = await fetch(url, { cache: "no-store" });
      if (!r.ok) throw new Error(r.status);
      const data = await r.json();
      live.classList.remove("stale");
      live.textContent = "live · " + new Date().toLocaleTimeString();
      return data;
    } catch (e) {
      live.classList.add("stale");
      live.textContent = "offline";
      return null;
    }
  }

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  const short = (s) => { s = String(s); return s.length > 18 ? s.slice(0, 10) + "…" + s.slice(-4) : s; };
  const setText = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };

  function overview() {
    every(async () => {
      const o = await getJson("/api/overview");
      if (!o) return;
      for (const [k, v] of Object.entries(o.counts)) {
        const el = document.querySelector(`[data-count="${k}"]`);
        if (el) el.textContent = v;
      }
      for (const [k, v] of Object.entries(o.counts.tasksByStatus)) {
        const el = document.querySelector(`[data-status="${k}"]`);
        if (el) el.textContent = v;
      }
      setText("indexed-block", o.chain.indexedBlock ?? "—");
      document.querySelector("#events tbody").innerHTML = o.latestEvents.map((e) =>
        `<tr><td>${e.block}</td><td>${esc(e.contract)}</td><td>${esc(e.name)}</td><td class="mono small">` +
        Object.entries(e.args).map(([k, v]) => `${esc(k)}=${esc(short(v))}`).join(" ") + "</td></tr>").join("");
    });
  }

  // Series on one x axis (uPlot wants aligned data): current trace and rolled-back commits.
  function curveData(c) {
    const xs = [...new Set([...c.steps, ...c.replacedSteps])].sort((a, b) => a - b);
    const cur = new Map(c.steps.map((s, i) => [s, c.losses[i]]));
    const old = new Map(c.replacedSteps.map((s, i) => [s, c.replacedLosses[i]]));
    return [xs, xs.map((x) => cur.get(x) ?? null), xs.map((x) => old.get(x) ?? null)];
  }

  function markers(curve) {
    return (u) => {
      const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      const line = (x, color, dash) => {
        const px = Math.round(u.valToPos(x, "x", true));
        if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) return;
        ctx.save(); ctx.strokeStyle = color; ctx.lineWidth = 1 * devicePixelRatio;
        ctx.setLineDash(dash); ctx.beginPath(); ctx.moveTo(px, top); ctx.lineTo(px, top + h);
        ctx.stroke(); ctx.restore();
      };
      curve.current.boundaries.forEach((b) => line(b, "#b0b7c3", [4, 4]));
      curve.current.disputeSteps.forEach((s) => line(s, "#e5484d", []));
    };
  }

  function chart(el, c) {
    if (typeof uPlot === "undefined") { el.textContent = "uPlot is not installed (run scripts/bootstrap)."; return null; }
    const holder = { current: c };
    const opts = {
      width: el.clientWidth - 16, height: 300,
      scales: { x: { time: false } },
      axes: [{ label: "step" }, { label: "loss" }],
      series: [{ label: "step" },
        { label: "loss", stroke: "#2f5fd0", width: 2, spanGaps: false },
        { label: "rolled back", stroke: "#f0a23b", width: 2, dash: [6, 4] }],
      hooks: { draw: [markers(holder)] },
    };
    const plot = new uPlot(opts, curveData(c), el);
    plot.vtHolder = holder;
    return plot;
  }

  function task(id, curve) {
    const el = document.getElementById("loss");
    let plot = curve.steps.length || curve.replacedSteps.length ? chart(el, curve) : null;
    if (!plot) el.textContent = "No losses published yet.";
    every(async () => {
      const t = await getJson(`/api/tasks/${id}`);
      if (!t) return;
      const status = document.getElementById("task-status");
      status.textContent = t.status; status.className = "status " + t.status;
      setText("task-epoch", t.epoch);
      setText("indexed-block", t.indexedBlock);
      setText("seg-counts", `${t.committed} committed, ${t.final} final`);
      for (const s of t.segmentList) {
        const cell = document.querySelector(`#segbar [data-k="${s.k}"]`);
        if (cell && !cell.classList.contains(s.state)) {
          cell.className = "seg " + s.state;
          cell.title = `segment ${s.k} (steps ${s.firstStep}–${s.lastStep}): ${s.state}`;
        }
      }
      const c = t.lossCurve;
      if (c.steps.length || c.replacedSteps.length) {
        if (!plot) { el.textContent = ""; plot = chart(el, c); }
        else { plot.vtHolder.current = c; plot.setData(curveData(c)); }
      }
      const box = document.getElementById("checkpoints");
      box.innerHTML = t.finalCheckpoints.length ? t.finalCheckpoints.map((f) =>
        `<div class="ckpt"><p>segment ${f.k} (step ${f.step}) · <span class="mono">${esc(f.checkpointCid)}</span></p>` +
        `<pre class="pull">${esc(f.pullCommand)}</pre></div>`).join("") : "<p>No final segment yet.</p>";
    });
  }

  return { overview, task };
})();
