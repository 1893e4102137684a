// Suggestions as you type for the service search boxes (templates/services/_suggest_field.html).
// Progressive enhancement only: without this file the forms submit and the page lists results.
//
// Accessible by the simplest pattern that works: the suggestions are ordinary links listed
// under the box; a status region says how many there are; Tab or the down arrow key reaches
// them, the arrow keys move between them, and Escape goes back to the box.
// Every user-facing string comes from data attributes the template translated.

const DEBOUNCE_MS = 200;
const MIN_LENGTH = 2;

function setUp(input) {
  const list = document.getElementById(input.dataset.suggestList);
  const status = document.getElementById(input.dataset.suggestStatus);
  if (!list || !status) {
    return;
  }
  const typeSelect = input.dataset.suggestType
    ? document.getElementById(input.dataset.suggestType)
    : null;
  let timer = 0;
  let controller = null;
  let shown = null; // the query whose suggestions are on screen

  function clear() {
    list.replaceChildren();
    list.hidden = true;
    status.textContent = "";
    shown = null;
  }

  function hrefFor(item) {
    if (!input.hasAttribute("data-suggest-choose")) {
      return item.url;
    }
    // Choosing in the tell-your-story form: keep the services already chosen.
    const params = new URLSearchParams();
    for (const hidden of input.form.querySelectorAll('input[type="hidden"][name="service"]')) {
      params.append("service", hidden.value);
    }
    params.append("service", item.code);
    return `${input.form.getAttribute("action")}?${params}`;
  }

  function itemFor(item) {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = hrefFor(item);
    link.textContent = item.name;
    li.append(link);
    if (!item.is_open) {
      const tag = document.createElement("strong");
      tag.className = "nhsuk-tag nhsuk-tag--grey";
      tag.textContent = list.dataset.closed;
      li.append(" ", tag);
    }
    const details = [item.type_label];
    if (item.parent) {
      details.push(item.parent);
    }
    if (item.distance_km !== null) {
      details.push(list.dataset.km.replace("{km}", item.distance_km.toFixed(1)));
    }
    const meta = document.createElement("span");
    meta.className = "nhsuk-body-s cs-meta";
    meta.textContent = details.join(" · ");
    li.append(document.createElement("br"), meta);
    return li;
  }

  function show(items, key) {
    list.replaceChildren(...items.map(itemFor));
    list.hidden = items.length === 0;
    shown = key;
    if (items.length === 0) {
      status.textContent = list.dataset.none;
    } else if (items.length === 1) {
      status.textContent = list.dataset.one;
    } else {
      status.textContent = list.dataset.many.replace("{count}", String(items.length));
    }
  }

  async function update() {
    const query = input.value.trim();
    const kind = typeSelect ? typeSelect.value : "";
    const key = `${query}\u0000${kind}`;
    if (key === shown) {
      return;
    }
    if (controller) {
      controller.abort();
      controller = null;
    }
    if (query.length < MIN_LENGTH) {
      clear();
      return;
    }
    const url = new URL(input.dataset.suggestUrl, window.location.href);
    url.searchParams.set("q", query);
    if (kind) {
      url.searchParams.set("type", kind);
    }
    controller = new AbortController();
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!response.ok) {
        clear();
        return;
      }
      show(await response.json(), key);
    } catch (error) {
      if (error.name !== "AbortError") {
        clear(); // offline or the server failed: the Search button still works
      }
    }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, DEBOUNCE_MS);
  });
  if (typeSelect) {
    typeSelect.addEventListener("change", update);
  }
  input.addEventListener("keydown", (event) => {
    if (list.hidden) {
      return;
    }
    if (event.key === "ArrowDown") {
      event.preventDefault();
      list.querySelector("a")?.focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      clear();
    }
  });
  list.addEventListener("keydown", (event) => {
    const links = [...list.querySelectorAll("a")];
    const index = links.indexOf(document.activeElement);
    if (index < 0) {
      return;
    }
    let target = null;
    if (event.key === "ArrowDown") {
      target = links[Math.min(index + 1, links.length - 1)];
    } else if (event.key === "ArrowUp") {
      target = index === 0 ? input : links[index - 1];
    } else if (event.key === "Home") {
      target = links[0];
    } else if (event.key === "End") {
      target = links[links.length - 1];
    } else if (event.key === "Escape") {
      target = input;
      clear();
    }
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });
}

for (const input of document.querySelectorAll("input[data-suggest-url]")) {
  setUp(input);
}
