// The page of `python -m fashion_lit serve`: pictures in, for each the model's view and
// top 3 out. It talks to its own server only: POST /predict?with_image=true, GET /info
// and GET /examples/random.
"use strict";

const $ = (id) => document.getElementById(id);
// The pictures' addresses (blob: URLs) shown now, released when others replace them.
let shownFiles = [];

function percent(probability) {
  return `${(100 * probability).toFixed(1)}%`;
}

// "a Shirt", "an Ankle boot": the article a class name takes, by its first letter.
function withArticle(name) {
  return `${/^[aeiou]/i.test(name) ? "an" : "a"} ${name}`;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

// An empty result, in place of the results shown before, or after them with keep.
function newResult({ keep = false } = {}) {
  if (!keep) {
    shownFiles.forEach((url) => URL.revokeObjectURL(url));
    shownFiles = [];
    $("results").replaceChildren();
  }
  $("error").hidden = true;
  const result = $("result-template").content.firstElementChild.cloneNode(true);
  $("results").append(result);
  return result;
}

// The answer to /predict: its first prediction, or an Error with the server's message.
async function predict(body, headers = {}) {
  const response = await fetch("/predict?with_image=true", { method: "POST", body, headers });
  let answer;
  try {
    answer = await response.json();
  } catch {
    throw new Error(`The server answered ${response.status} ${response.statusText}.`);
  }
  if (!response.ok) {
    throw new Error(answer.error || `The server answered ${response.status}.`);
  }
  return answer.predictions[0];
}

// Draw 28 rows of 28 gray levels in [0, 1] on the 28×28 canvas (CSS enlarges it).
function drawSeen(canvas, rows) {
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(28, 28);
  rows.flat().forEach((level, i) => {
    const gray = Math.round(255 * level);
    pixels.data.set([gray, gray, gray, 255], 4 * i);
  });
  context.putImageData(pixels, 0, 0);
}

function showPrediction(result, prediction, truth) {
  const part = (name) => result.querySelector(`.${name}`);
  drawSeen(part("seen"), prediction.image);
  part("seen-figure").hidden = false;
  part("verdict").textContent = prediction.predicted_name;
  const items = prediction.top3_names.map((name, i) => {
    const probability = prediction.top3_probabilities[i];
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = percent(probability);
    bar.append(fill);
    const value = document.createElement("span");
    value.className = "probability";
    value.textContent = percent(probability);
    item.append(label, bar, value);
    return item;
  });
  part("top3").replaceChildren(...items);
  part("truth").hidden = !truth;
  part("truth").textContent = truth || "";
}

function showFailure(result, message) {
  result.querySelector(".verdict").textContent = "Not classified";
  result.querySelector(".error").textContent = message;
  result.querySelector(".error").hidden = false;
}

// Each file is sent in a request of its own, all at once: one bad file then gets its
// own message, and the others are answered all the same.
function classifyFiles(files) {
  files.forEach((file, i) => {
    const result = newResult({ keep: i > 0 });
    const url = URL.createObjectURL(file);
    shownFiles.push(url);
    result.querySelector(".original").src = url;
    result.querySelector(".file-name").textContent = file.name;
    classifyFile(file, result);
  });
}

async function classifyFile(file, result) {
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    showPrediction(result, await predict(form));
  } catch (error) {
    showFailure(result, error.message);
  }
}

async function classifyTestImage() {
  try {
    const response = await fetch("/examples/random");
    const example = await response.json();
    if (!response.ok) throw new Error(example.error);
    const levels = example.pixels.map((row) => row.map((gray) => gray / 255));
    const prediction = await predict(JSON.stringify({ images: [levels] }), {
      "Content-Type": "application/json",
    });
    const result = newResult();
    result.querySelector(".original-figure").hidden = true;
    const outcome = prediction.predicted === example.actual ? "right" : "wrong";
    showPrediction(
      result,
      prediction,
      `Test image ${example.index}: ${withArticle(example.actual_name)}, so the model is ${outcome}.`,
    );
  } catch (error) {
    showError(error.message);
  }
}

async function describeModel() {
  try {
    const info = await (await fetch("/info")).json();
    const accuracy = info.val_acc === null ? "" : `, val/acc ${percent(info.val_acc)}`;
    $("model").textContent =
      `Model: ${info.checkpoint}${accuracy}. API: POST /predict, GET /info; described at /docs.`;
    const examples = info.examples;
    $("random").disabled = examples.count === 0;
    $("random-note").textContent = examples.note;
  } catch (error) {
    $("model").textContent = `Cannot describe the model: ${error.message}`;
  }
}

$("file").addEventListener("change", () => {
  if ($("file").files.length) classifyFiles([...$("file").files]);
});
const drop = $("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("dragging");
});
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("dragging");
  if (event.dataTransfer.files.length) classifyFiles([...event.dataTransfer.files]);
});
document.addEventListener("paste", (event) => {
  const files = [...event.clipboardData.files].filter((f) => f.type.startsWith("image/"));
  if (files.length) classifyFiles(files);
});
$("random").addEventListener("click", classifyTestImage);
describeModel();
