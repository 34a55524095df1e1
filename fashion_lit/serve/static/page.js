// The page of `python -m fashion_lit serve`: a picture in, the model's view and top 3 out.
// It talks to its own server only: POST /predict?with_image=true, GET /info and
// GET /examples/random.
"use strict";

const $ = (id) => document.getElementById(id);

function percent(probability) {
  return `${(100 * probability).toFixed(1)}%`;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  $("result").hidden = true;
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
function drawSeen(rows) {
  const canvas = $("seen");
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(28, 28);
  rows.flat().forEach((level, i) => {
    const gray = Math.round(255 * level);
    pixels.data.set([gray, gray, gray, 255], 4 * i);
  });
  context.putImageData(pixels, 0, 0);
}

function showPrediction(prediction, truth) {
  drawSeen(prediction.image);
  $("verdict").textContent = prediction.predicted_name;
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
  $("top3").replaceChildren(...items);
  $("truth").hidden = !truth;
  $("truth").textContent = truth || "";
  $("error").hidden = true;
  $("result").hidden = false;
}

async function classifyFile(file) {
  const original = $("original");
  if (original.src) URL.revokeObjectURL(original.src);
  original.src = URL.createObjectURL(file);
  $("original-figure").hidden = false;
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    showPrediction(await predict(form));
  } catch (error) {
    showError(error.message);
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
    $("original-figure").hidden = true;
    const outcome = prediction.predicted === example.actual ? "right" : "wrong";
    showPrediction(
      prediction,
      `Test image ${example.index}: a ${example.actual_name}, so the model is ${outcome}.`,
    );
  } catch (error) {
    showError(error.message);
  }
}

async function describeModel() {
  try {
    const info = await (await fetch("/info")).json();
    const accuracy = info.val_acc === null ? "" : `, val/acc ${percent(info.val_acc)}`;
    $("model").textContent = `Model: ${info.checkpoint}${accuracy}. API: POST /predict, GET /info, /openapi.json.`;
    const examples = info.examples;
    $("random").disabled = examples.count === 0;
    $("random-note").textContent = examples.note;
  } catch (error) {
    $("model").textContent = `Cannot describe the model: ${error.message}`;
  }
}

$("file").addEventListener("change", () => {
  if ($("file").files.length) classifyFile($("file").files[0]);
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
  if (event.dataTransfer.files.length) classifyFile(event.dataTransfer.files[0]);
});
document.addEventListener("paste", (event) => {
  const file = [...event.clipboardData.files].find((f) => f.type.startsWith("image/"));
  if (file) classifyFile(file);
});
$("random").addEventListener("click", classifyTestImage);
describeModel();
