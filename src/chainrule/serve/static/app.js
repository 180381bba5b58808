// chainrule playground: the page talks to its own session on the server (see serve/app.py).
"use strict";

const FIELDS = ["dataset", "noise", "points", "test_ratio", "seed", "optimizer", "lr",
                "batch_size", "l2", "dropout", "schedule", "epochs", "activation", "loss",
                "speed"];
const MAX_LAYERS = 6, MAX_NEURONS = 8;
const $ = (id) => document.getElementById(id);
const page = { session: null, points: null, hidden: [4, 4], stream: null, view: null, selected: null,
               csv: { columns: "", target: "" }, csvText: null };

// --- settings <-> form <-> address ------------------------------------------------------
function formQuery() {
  const query = new URLSearchParams();
  for (const name of FIELDS) query.set(name, $(name).value);
  const mode = $("batch-mode").value;
  query.set("batch_size", mode === "batch" ? "0" : mode === "stochastic" ? "1" : $("batch_size").value);
  query.set("hidden", page.hidden.join(","));
  query.set("columns", page.csv.columns);
  query.set("target", page.csv.target);
  return query.toString();
}

function showSettings(queryText) {
  const query = new URLSearchParams(queryText);
  for (const name of FIELDS) if (query.has(name)) $(name).value = query.get(name);
  const batch = Number(query.get("batch_size"));
  $("batch-mode").value = batch === 0 ? "batch" : batch === 1 ? "stochastic" : "mini-batch";
  $("batch_size").disabled = batch <= 1;
  page.hidden = (query.get("hidden") || "").split(",").filter(Boolean).map(Number);
  page.csv = { columns: query.get("columns") || "", target: query.get("target") || "" };
  drawLayers();
  history.replaceState(null, "", "?" + queryText);
  $("share").href = location.href;
}

function drawLayers() {
  const box = $("layers");
  box.replaceChildren();
  page.hidden.forEach((width, i) => {
    const layer = document.createElement("div");
    layer.className = "layer";
    layer.innerHTML = `<div>${width} neurons</div>`;
    for (const [text, change] of [["+", 1], ["−", -1]]) {
      const button = document.createElement("button");
      button.textContent = text;
      button.className = change > 0 ? "add-neuron" : "remove-neuron";
      button.onclick = () => {
        const next = Math.min(MAX_NEURONS, Math.max(1, width + change));
        if (next !== width) { page.hidden[i] = next; applySettings(); }
      };
      layer.append(button);
    }
    box.append(layer);
  });
}

// --- talking to the server ----------------------------------------------------------------
async function call(method, path, payload) {
  const response = await fetch(path, { method, body: payload });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function report(error) { $("status").textContent = error ? String(error.message || error) : ""; }

function welcome(answer) {
  page.session = answer.session;
  page.points = answer.points;
  page.view = null;
  page.selected = null;
  showSettings(answer.settings);
  $("save").href = `/api/sessions/${page.session}/model.safetensors`;
  $("backprop-point").textContent = "";
  report(null);
}

async function start() {
  try {
    welcome(await call("POST", "/api/sessions" + location.search));
  } catch (error) {  // the address held bad settings: start from the defaults, say why
    welcome(await call("POST", "/api/sessions"));
    report(error);
  }
  listen();
}

function listen() {
  page.stream = new EventSource(`/api/sessions/${page.session}/stream`);
  page.stream.onmessage = (event) => show(JSON.parse(event.data));
  page.stream.onerror = () => {
    if (page.stream.readyState === EventSource.CLOSED) report("the server closed this session: reload the page");
  };
}

async function applySettings() {
  try { welcome(await call("POST", `/api/sessions/${page.session}/reset?` + formQuery())); }
  catch (error) { report(error); }
}

async function control(action) {
  try { await call("POST", `/api/sessions/${page.session}/${action}`); }
  catch (error) { report(error); }
}

// --- drawing ------------------------------------------------------------------------------
const ORANGE = [245, 147, 34], BLUE = [8, 119, 189], WHITE = [232, 234, 235];
function mix(value) {  // value in -1..1: orange .. white .. blue
  const [from, t] = value < 0 ? [ORANGE, -value] : [BLUE, value];
  return WHITE.map((w, k) => Math.round(w + (from[k] - w) * t));
}

function show(view) {
  page.view = view;
  $("epoch").textContent = view.epoch;
  $("step-count").textContent = view.step;
  $("train-loss").textContent = view.train_loss.toFixed(4);
  $("test-loss").textContent = view.test_loss === null ? "–" : view.test_loss.toFixed(4);
  $("current-lr").textContent = Number(view.lr).toPrecision(3);
  $("play").textContent = view.playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(view.playing));
  if (view.error) report(view.error);
  drawBoundary(view);
  drawCurve(view.curve);
  drawNeurons(view.neurons);
  drawGradients(view.grad_norms, view.warnings);
}

function drawBoundary(view) {
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  if (view.fit) drawFit(ctx, view.fit); else drawHeat(ctx, view.heat);
  const draw = (points, labels, square) => points.forEach(([x, y], i) => {
    const [px, py] = toCanvas(x, y);
    ctx.fillStyle = view.fit ? "#555" : `rgb(${(labels[i] ? BLUE : ORANGE).join(",")})`;
    ctx.strokeStyle = square ? "#000" : "#fff";
    ctx.beginPath();
    if (square) ctx.rect(px - 3.5, py - 3.5, 7, 7); else ctx.arc(px, py, 3.5, 0, 2 * Math.PI);
    ctx.fill(); ctx.stroke();
  });
  draw(page.points.train, page.points.train_labels, false);
  draw(page.points.test, page.points.test_labels, true);
  if (page.selected) {  // the point of the backprop panel
    const [px, py] = toCanvas(...page.points[page.selected.part][page.selected.index]);
    ctx.strokeStyle = "#000"; ctx.lineWidth = 2; ctx.beginPath();
    ctx.arc(px, py, 8, 0, 2 * Math.PI); ctx.stroke(); ctx.lineWidth = 1;
  }
}

function drawFit(ctx, fit) {  // the regression curve: the network's output along x
  const canvas = ctx.canvas, [x0, x1] = page.points.bounds;
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = `rgb(${BLUE.join(",")})`; ctx.lineWidth = 3; ctx.beginPath();
  fit.forEach((y, i) => {
    const [px, py] = toCanvas(x0 + (i + 0.5) * (x1 - x0) / fit.length, y);
    i ? ctx.lineTo(px, py) : ctx.moveTo(px, py);
  });
  ctx.stroke(); ctx.lineWidth = 1;
}

function drawHeat(ctx, heat) {
  const canvas = ctx.canvas, n = page.points.grid;
  const image = new ImageData(n, n);
  heat.forEach((p, i) => {
    const [r, g, b] = mix(p / 50 - 1);
    image.data.set([r, g, b, 255], 4 * i);
  });
  const cells = document.createElement("canvas");
  cells.width = cells.height = n;
  cells.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(cells, 0, 0, canvas.width, canvas.height);
}

function toCanvas(x, y) {
  const [x0, x1, y0, y1] = page.points.bounds, c = $("boundary");
  return [(x - x0) / (x1 - x0) * c.width, (y1 - y) / (y1 - y0) * c.height];
}

function drawCurve(curve) {
  const canvas = $("loss-curve"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (curve.length < 2) return;
  const top = Math.max(...curve.flatMap(([, a, b]) => [a, b ?? 0])) * 1.05;
  const last = curve[curve.length - 1][0];
  for (const [column, color] of [[1, "#183153"], [2, "#e07b00"]]) {
    ctx.strokeStyle = color; ctx.lineWidth = 1.5; ctx.beginPath();
    curve.forEach((row, i) => {
      if (row[column] === null) return;
      const x = row[0] / last * canvas.width, y = canvas.height * (1 - row[column] / top);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  }
}

function drawNeurons(layers) {
  const box = $("neurons"), n = page.points.neuron_grid;
  const [w, h] = page.points.task === "regression" ? [n * n, 1] : [n, n];
  if (box.dataset.shape !== JSON.stringify([w, ...layers.map((l) => l.length)])) {
    box.replaceChildren(...layers.map((layer) => {
      const column = document.createElement("div");
      column.className = "neuron-layer";
      column.append(...layer.map(() => Object.assign(document.createElement("canvas"), { width: w, height: h })));
      return column;
    }));
    box.dataset.shape = JSON.stringify([w, ...layers.map((l) => l.length)]);
  }
  layers.forEach((layer, i) => layer.forEach((values, j) => {
    const canvas = box.children[i].children[j], image = new ImageData(w, h);
    values.forEach((v, k) => image.data.set([...mix(v / 100), 255], 4 * k));
    canvas.getContext("2d").putImageData(image, 0, 0);
  }));
}

function drawGradients(norms, warnings) {
  const box = $("grad-norms");
  box.replaceChildren(...Object.entries(norms).map(([name, norm]) => {
    const bar = document.createElement("div"), width = Math.max(2, 40 + 12 * Math.log10(norm + 1e-12));
    bar.className = "bar";
    bar.innerHTML = `<span>${name}</span><span class="fill" style="width:${width}px"></span><span>${norm.toExponential(2)}</span>`;
    return bar;
  }));
  $("warnings").replaceChildren(...warnings.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
}

// --- the backprop panel -------------------------------------------------------------------
async function explainPoint(event) {
  const rect = event.target.getBoundingClientRect();
  const cx = (event.clientX - rect.left) * event.target.width / rect.width;
  const cy = (event.clientY - rect.top) * event.target.height / rect.height;
  let best = null;
  for (const part of ["train", "test"]) page.points[part].forEach(([x, y], index) => {
    const [px, py] = toCanvas(x, y), d = (px - cx) ** 2 + (py - cy) ** 2;
    if (!best || d < best.d) best = { part, index, d };
  });
  if (!best) return;
  try {
    const answer = await call("GET", `/api/sessions/${page.session}/backprop?part=${best.part}&index=${best.index}`);
    $("backprop-point").textContent = `(${answer.part} point ${answer.index}, after step ${answer.step})`;
    $("backprop-text").textContent = answer.text;
    $("backprop").dataset.trace = JSON.stringify(answer.trace);
    page.selected = { part: answer.part, index: answer.index };
    if (page.view) drawBoundary(page.view);
  } catch (error) { report(error); }
}

// --- the user's CSV ------------------------------------------------------------------------
async function readCsv() {
  const file = $("csv-file").files[0];
  if (!file) return;
  page.csvText = await file.text();
  const header = page.csvText.split(/\r?\n/, 1)[0].split(",").map((name) => name.trim());
  for (const id of ["csv-x", "csv-y", "csv-target"]) {
    $(id).replaceChildren(...header.map((name) => Object.assign(document.createElement("option"), { value: name, textContent: name })));
  }
  $("csv-y").value = header[1] ?? header[0];
  $("csv-target").value = header[header.length - 1];
  $("csv-use").disabled = false;
}

async function useCsv() {
  const query = new URLSearchParams({ columns: `${$("csv-x").value},${$("csv-y").value}`, target: $("csv-target").value });
  try { welcome(await call("POST", `/api/sessions/${page.session}/csv?${query}`, page.csvText)); }
  catch (error) { report(error); }
}

// --- wiring -------------------------------------------------------------------------------
$("play").onclick = () => control(page.view && page.view.playing ? "pause" : "play");
$("step").onclick = () => control("step");
$("reset").onclick = () => applySettings();
$("boundary").onclick = explainPoint;
$("csv-file").addEventListener("change", readCsv);
$("csv-use").onclick = useCsv;
$("add-layer").onclick = () => { if (page.hidden.length < MAX_LAYERS) { page.hidden.push(4); applySettings(); } };
$("remove-layer").onclick = () => { if (page.hidden.length) { page.hidden.pop(); applySettings(); } };
for (const name of [...FIELDS, "batch-mode"]) if (name !== "speed") $(name).addEventListener("change", applySettings);
$("speed").addEventListener("change", async () => {  // no reset: training goes on, faster or slower
  try { showSettings((await call("POST", `/api/sessions/${page.session}/speed?speed=${$("speed").value}`)).settings); }
  catch (error) { report(error); }
});
window.addEventListener("pagehide", () => navigator.sendBeacon(`/api/sessions/${page.session}/end`));
start();
