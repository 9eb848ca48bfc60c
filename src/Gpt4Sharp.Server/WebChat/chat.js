// The web chat page: keeps the conversation in the browser and sends it whole to
// /v1/chat/completions with stream: true (the server reuses the cached prefix of earlier turns).
"use strict";

const $ = id => document.getElementById(id);
const state = { model: null, messages: [], controller: null, image: null, totalCost: 0, totalTokens: 0 };

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function loadModel() {
  try {
    const response = await fetch("/v1/models", { headers: headers() });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    state.model = body.data[0].id;
    $("model").textContent = state.model + " · context " + body.data[0].context_length;
  } catch (e) {
    $("model").textContent = "model unknown: " + e.message;
  }
}

function bubble(role) {
  const div = document.createElement("div");
  div.className = "message " + role;
  $("log").appendChild(div);
  return div;
}

function showUser(text, image) {
  const div = bubble("user");
  if (image) {
    const img = document.createElement("img");
    img.src = image;
    img.alt = "attached image";
    div.appendChild(img);
  }
  const p = document.createElement("div");
  p.textContent = text;
  div.appendChild(p);
}

function showUsage(div, usage, stopped) {
  const line = document.createElement("div");
  line.className = "usage";
  if (usage) {
    const cached = usage.prompt_tokens_details ? usage.prompt_tokens_details.cached_tokens : 0;
    state.totalCost += usage.cost_usd || 0;
    state.totalTokens += usage.total_tokens;
    line.textContent = "prompt " + usage.prompt_tokens + " tokens (" + cached + " cached) · completion " + usage.completion_tokens +
      " tokens · cost $" + (usage.cost_usd || 0).toFixed(5);
    $("total").textContent = "Conversation: " + state.totalTokens + " tokens, $" + state.totalCost.toFixed(5);
  } else {
    line.textContent = stopped ? "stopped" : "no usage reported";
  }
  div.appendChild(line);
}

function busy(on) {
  $("send").disabled = on;
  $("stop").disabled = !on;
}

async function send(text) {
  if (!state.model) await loadModel();
  const content = state.image
    ? [{ type: "image_url", image_url: { url: state.image } }, { type: "text", text: text }]
    : text;
  showUser(text, state.image);
  state.messages.push({ role: "user", content: content });
  state.image = null;
  $("image").value = "";
  $("image-name").textContent = "";

  const div = bubble("assistant");
  const answer = document.createElement("div");
  answer.className = "answer";
  div.appendChild(answer);
  div.dataset.chunks = "0";
  let text_ = "";
  let usage = null;
  const controller = new AbortController();
  state.controller = controller;
  busy(true);
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers(),
      signal: controller.signal,
      body: JSON.stringify({
        model: state.model,
        messages: state.messages,
        stream: true,
        temperature: Number($("temperature").value),
        max_tokens: Number($("max-tokens").value),
      }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error ? body.error.message : response.status + " " + response.statusText);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices || []) {
          if (choice.delta && choice.delta.content) {
            text_ += choice.delta.content;
            answer.innerHTML = renderMarkdown(text_);
            div.dataset.chunks = String(Number(div.dataset.chunks) + 1);
            $("log").scrollTop = $("log").scrollHeight;
          }
        }
      }
    }
    showUsage(div, usage, false);
  } catch (e) {
    if (e.name === "AbortError") {
      showUsage(div, null, true);
    } else {
      div.classList.add("error");
      answer.textContent = e.message;
      state.messages.pop(); // the failed turn is not part of the conversation
      state.controller = null;
      busy(false);
      div.dataset.done = "true";
      return;
    }
  }
  state.messages.push({ role: "assistant", content: text_ });
  state.controller = null;
  busy(false);
  div.dataset.done = "true";
}

$("form").addEventListener("submit", event => {
  event.preventDefault();
  const text = $("input").value.trim();
  if (!text || state.controller) return;
  $("input").value = "";
  send(text);
});

$("input").addEventListener("keydown", event => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("form").requestSubmit();
  }
});

$("stop").addEventListener("click", () => {
  if (state.controller) state.controller.abort();
});

$("image").addEventListener("change", () => {
  const file = $("image").files[0];
  if (!file) { state.image = null; return; }
  const reader = new FileReader();
  reader.onload = () => {
    state.image = reader.result; // a data: URI, sent inline as an image_url part
    $("image-name").textContent = file.name;
  };
  reader.readAsDataURL(file);
});

$("new-chat").addEventListener("click", () => {
  if (state.controller) state.controller.abort();
  state.messages = [];
  state.totalCost = 0;
  state.totalTokens = 0;
  $("log").innerHTML = "";
  $("total").textContent = "";
});

$("key").value = localStorage.getItem("gpt4sharp-key") || "";
$("key").addEventListener("change", () => {
  localStorage.setItem("gpt4sharp-key", $("key").value);
  loadModel();
});
loadModel();
