// Writing guidance on the "Tell your story" form: as the author types, ask the server what
// our checks notice (an email address, a name, signs that someone may be at risk) and show
// the messages in the live region next to the story box. Progressive enhancement only: the
// form works without this file, and nothing here ever stops the story being sent.

const DELAY_MS = 800;

function csrfToken(form) {
  const input = form.querySelector("input[name='csrfmiddlewaretoken']");
  return input ? input.value : "";
}

function render(region, messages) {
  region.replaceChildren();
  if (!messages.length) {
    return;
  }
  const support = messages.filter((m) => m.kind === "support");
  const others = messages.filter((m) => m.kind !== "support");
  for (const message of support) {
    const box = document.createElement("div");
    box.className = "nhsuk-warning-callout";
    const p = document.createElement("p");
    p.textContent = message.text;
    box.append(p);
    region.append(box);
  }
  if (others.length) {
    const box = document.createElement("div");
    box.className = "nhsuk-inset-text";
    const heading = document.createElement("p");
    heading.className = "nhsuk-u-font-weight-bold";
    heading.textContent = region.dataset.heading || "";
    const list = document.createElement("ul");
    for (const message of others) {
      const item = document.createElement("li");
      item.textContent = message.text;
      list.append(item);
    }
    if (heading.textContent) {
      box.append(heading);
    }
    box.append(list);
    region.append(box);
  }
}

function init() {
  const region = document.getElementById("story-guidance");
  if (!region || !region.dataset.url || !window.fetch) {
    return;
  }
  const form = region.closest("form");
  const title = form && form.querySelector("[name='title']");
  const body = form && form.querySelector("[name='body']");
  if (!form || !title || !body) {
    return;
  }
  let timer = null;
  let controller = null;
  let last = "";

  async function check() {
    const key = `${title.value}\u0000${body.value}`;
    if (key === last) {
      return;
    }
    last = key;
    if (controller) {
      controller.abort();
    }
    controller = new AbortController();
    const data = new FormData();
    data.append("title", title.value);
    data.append("body", body.value);
    try {
      const response = await fetch(region.dataset.url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(form), Accept: "application/json" },
        signal: controller.signal,
      });
      if (!response.ok) {
        return; // too long, or the session expired: the form still works
      }
      const payload = await response.json();
      render(region, Array.isArray(payload.messages) ? payload.messages : []);
    } catch (error) {
      if (error.name !== "AbortError") {
        region.replaceChildren();
      }
    }
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, DELAY_MS);
  }

  title.addEventListener("input", schedule);
  body.addEventListener("input", schedule);
  if (title.value || body.value) {
    schedule();
  }
}

init();
