// The borescope web page: a small one-page app over the JSON API (/api/v1), authenticated by
// the session cookie, with the CSRF token from /session on every change. Live data comes from
// one Server-Sent Events stream (/api/v1/events). Everything shown is put in the DOM with
// textContent and DOM APIs, never innerHTML, so captured values cannot become markup.

import { API, api, ago, badge, clock, h, replace, session, short } from "./dom.js";
import { variableNode } from "./values.js";

const data = { probes: [], instances: [], settings: [], snapshots: [], seen: new Set(), sources: new Map() };
const MAX_LISTED = 1000;
let view = null; // { update() } of the view on screen

// -- data ----------------------------------------------------------------------------------

async function refresh() {
  const [probes, instances, settings] = await Promise.all([api("GET", "/probes?all=true"), api("GET", "/instances"), api("GET", "/services")]);
  data.probes = probes.probes;
  data.instances = instances.instances;
  data.settings = settings.services;
}

function services() {
  const names = new Set([...data.instances.map((i) => i.service), ...data.probes.map((p) => p.service), ...data.settings.map((s) => s.name)]);
  return [...names].sort().map((name) => ({
    name,
    instances: data.instances.filter((i) => i.service === name),
    probes: data.probes.filter((p) => p.service === name),
    exceptions: data.settings.some((s) => s.name === name && s.exceptions),
  }));
}

function addSnapshot(summary) {
  if (data.seen.has(summary.id)) return;
  data.seen.add(summary.id);
  data.snapshots.unshift(summary);
  data.snapshots.sort((a, b) => b.id - a.id);
  if (data.snapshots.length > MAX_LISTED) data.snapshots.length = MAX_LISTED;
}

let refreshing = null;
function probesChanged() {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    try {
      await refresh();
      data.sources.clear();
      if (view) view.update();
    } catch (error) {
      console.warn(error);
    }
  }, 100);
}

function connect() {
  const live = document.getElementById("live");
  const events = new EventSource(API + "/events");
  let pending = null;
  events.addEventListener("open", () => {
    live.textContent = "live";
    live.className = "live on";
  });
  events.addEventListener("error", () => {
    live.textContent = "reconnecting…";
    live.className = "live off";
  });
  events.addEventListener("snapshot", (event) => {
    addSnapshot(JSON.parse(event.data));
    // Many events at once (the backlog) redraw once.
    if (!pending) pending = requestAnimationFrame(() => {
      pending = null;
      if (view) view.update();
    });
  });
  events.addEventListener("probes", probesChanged);
}

// -- probes ----------------------------------------------------------------------------------

const FIELDS = [
  ["service", "service"],
  ["file", "file"],
  ["line", "line"],
  ["condition", "condition"],
  ["capture", "captures"],
  ["log template", "log"],
  ["max_hits", "max_hits"],
  ["rate", "rate"],
  ["ttl", "ttl_secs"],
];

function field(label, input, hint) {
  return h("label", { class: "field", "data-field": input.name }, h("span", { class: "label", text: label }), input,
    hint ? h("span", { class: "hint", text: hint }) : null, h("span", { class: "error", role: "alert" }));
}

function probeForm(onCreated) {
  const datalist = h("datalist", { id: "service-names" });
  const input = (name, attrs) => h("input", { name, id: "probe-" + name, autocomplete: "off", ...attrs });
  const form = h("form", { class: "card probe-form", novalidate: true },
    h("h2", { text: "New probe" }),
    datalist,
    field("Service", input("service", { list: "service-names", required: true, placeholder: "shop" })),
    h("div", { class: "row" },
      field("File", input("file", { required: true, placeholder: "orders/views.py", class: "mono" }), "absolute, or the end of the path"),
      field("Line", input("line", { type: "number", min: 1, required: true, class: "mono narrow" }))),
    field("Condition", input("condition", { class: "mono", placeholder: "order.total > 100" }), "optional: snapshot only when true"),
    field("Captures", h("textarea", { name: "captures", id: "probe-captures", rows: 2, class: "mono", placeholder: "one expression a line" })),
    field("Log template", input("log", { class: "mono", placeholder: "order {order.id} costs {total}" }), "optional: a logpoint stores only this message"),
    h("div", { class: "row" },
      field("Max hits", input("max_hits", { type: "number", min: 1, class: "narrow", placeholder: "no limit" })),
      field("Rate /s", input("rate", { type: "number", min: 0, step: "any", class: "narrow", placeholder: "1" })),
      field("Expires in", h("select", { name: "ttl_secs", id: "probe-ttl_secs" },
        [["600", "10 min"], ["3600", "1 hour"], ["14400", "4 hours"], ["86400", "24 hours"]].map(([v, t]) =>
          h("option", { value: v, text: t, selected: v === "3600" }))))),
    h("p", { class: "error form-error", role: "alert" }),
    h("button", { type: "submit", id: "create-probe", text: "Create probe" }));
  form.update = () => replace(datalist, services().map((s) => h("option", { value: s.name })));
  form.update();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const slot of form.querySelectorAll(".error")) slot.textContent = "";
    for (const label of form.querySelectorAll(".field")) label.classList.remove("invalid");
    const v = (name) => form.elements[name].value.trim();
    const body = { service: v("service"), file: v("file"), line: Number(v("line") || 0) };
    if (v("condition")) body.condition = v("condition");
    const captures = v("captures").split("\n").map((s) => s.trim()).filter(Boolean);
    if (captures.length) body.captures = captures;
    if (v("log")) body.log = v("log");
    if (v("max_hits")) body.max_hits = Number(v("max_hits"));
    if (v("rate")) body.rate = Number(v("rate"));
    body.ttl_secs = Number(v("ttl_secs"));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const probe = await api("POST", "/probes", body);
      form.reset();
      form.elements.service.value = body.service;
      onCreated(probe);
    } catch (error) {
      showFieldError(form, error.message);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function showFieldError(form, message) {
  const found = FIELDS.find(([prefix]) => message.startsWith(prefix));
  const label = found && form.querySelector(`.field[data-field="${found[1]}"]`);
  if (label) {
    label.classList.add("invalid");
    label.querySelector(".error").textContent = message;
  } else {
    form.querySelector(".form-error").textContent = message;
  }
}

function statusList(probe) {
  if (!probe.statuses.length) return h("span", { class: "muted", text: "no instance reported yet" });
  return h("ul", { class: "statuses" }, probe.statuses.map((s) =>
    h("li", {}, badge(s.status), " ", h("span", { class: "mono muted", text: `${s.host}:${s.pid}` }),
      s.hits ? h("span", { class: "muted", text: ` · ${s.hits} hit${s.hits === 1 ? "" : "s"}` }) : null,
      s.message ? h("div", { class: "status-message s-" + s.status, text: s.message }) : null)));
}

function probeActions(probe, after) {
  const act = async (button, method, body) => {
    button.disabled = true;
    try {
      await api(method, `/probes/${probe.id}`, body);
      await refresh();
      after();
    } catch (error) {
      button.disabled = false;
      button.title = error.message;
      alert(error.message);
    }
  };
  const buttons = [];
  if (probe.state === "active" || probe.state === "disabled") {
    const on = probe.state === "disabled";
    const toggle = h("button", { class: "small", "data-action": on ? "enable" : "disable", text: on ? "Enable" : "Disable" });
    toggle.addEventListener("click", () => act(toggle, "PATCH", { enabled: on }));
    buttons.push(toggle);
  }
  const remove = h("button", { class: "small danger", "data-action": "delete", text: "Delete" });
  remove.addEventListener("click", () => {
    if (confirm(`Delete probe ${probe.id} and its snapshots?`)) act(remove, "DELETE");
  });
  buttons.push(remove);
  return h("span", { class: "actions" }, buttons);
}

function probesView(main) {
  const table = h("div", { class: "card" });
  const form = probeForm((probe) => location.assign("#/probes/" + probe.id));
  replace(main, h("div", { class: "split" }, form, table));
  const update = () => {
    form.update();
    const rows = data.probes.map((p) =>
      h("tr", { "data-probe": p.id, class: "state-" + p.state },
        h("td", {}, h("a", { href: "#/probes/" + p.id, text: "#" + p.id })),
        h("td", { text: p.service }),
        h("td", { class: "mono", title: p.file }, h("a", { href: "#/probes/" + p.id, text: `${short(p.file)}:${p.line}` }),
          p.condition ? h("div", { class: "muted small", text: "if " + p.condition }) : null,
          p.log ? h("div", { class: "muted small", text: "log " + p.log }) : null),
        h("td", {}, badge(p.state)),
        h("td", { class: "num", text: p.hits + (p.max_hits ? " / " + p.max_hits : "") }),
        h("td", {}, statusList(p)),
        h("td", {}, probeActions(p, update))));
    replace(table, h("h2", { text: "Probes" }), rows.length
      ? h("table", { class: "grid probes" }, h("thead", {}, h("tr", {}, ["", "Service", "Where", "State", "Hits", "Instances", ""].map((t) => h("th", { text: t })))), h("tbody", {}, rows))
      : h("p", { class: "muted", text: "No probes yet: create one on the left." }));
  };
  update();
  return { update };
}

function sourceBlock(source, line, empty) {
  if (!source || !source.lines || !source.lines.length) return h("p", { class: "muted source-missing", text: empty });
  return h("pre", { class: "source" }, source.lines.map((text, i) => {
    const number = source.first_line + i;
    return h("div", { class: number === line ? "src-line current" : "src-line" },
      h("span", { class: "ln", text: String(number) }), h("span", { class: "code", text: text || " " }));
  }));
}

function probeView(main, id) {
  const box = h("div", { class: "stack" });
  replace(main, box);
  let loading = false;
  const update = async () => {
    const probe = data.probes.find((p) => p.id === id);
    if (!probe) {
      replace(box, h("p", { class: "muted missing", text: `Probe ${id} does not exist (deleted, or removed after it ended).` }), h("a", { href: "#/probes", text: "All probes" }));
      return;
    }
    let source = data.sources.get(id);
    if (!source && !loading) {
      loading = true;
      api("GET", `/probes/${id}/source`).then((s) => {
        loading = false;
        if (s.source) {
          data.sources.set(id, s);
          update();
        }
      }).catch(() => (loading = false));
    }
    const snaps = data.snapshots.filter((s) => s.probe_id === id);
    replace(box,
      h("div", { class: "card" },
        h("div", { class: "title-row" }, h("h2", { text: `Probe #${probe.id}` }), badge(probe.state), h("span", { class: "spacer" }), probeActions(probe, update)),
        h("dl", { class: "facts" },
          fact("Service", probe.service), fact("Where", `${probe.file}:${probe.line}`, "mono"),
          probe.condition ? fact("Condition", probe.condition, "mono") : null,
          probe.captures.length ? fact("Captures", probe.captures.join(", "), "mono") : null,
          probe.log ? fact("Log template", probe.log, "mono") : null,
          fact("Hits", probe.hits + (probe.max_hits ? " of " + probe.max_hits : "")),
          fact("Rate", probe.rate + " /s per instance"),
          fact("Expires", probe.expires_ms > Date.now() ? "in " + Math.round((probe.expires_ms - Date.now()) / 60000) + " min" : "expired")),
        h("h3", { text: "Instances" }), statusList(probe)),
      h("div", { class: "card" }, h("h3", { text: "Source" }),
        source ? h("p", { class: "muted mono small", text: `${source.source.path} (as ${short(source.instance_id)} read it)` }) : null,
        sourceBlock(source && source.source, probe.line, "Source not reported yet: it arrives when an instance finds the file.")),
      h("div", { class: "card" }, h("h3", { text: `Snapshots (${snaps.length})` }), snapshotTable(snaps)));
  };
  update();
  return { update };
}

function fact(name, value, cls) {
  return [h("dt", { text: name }), h("dd", { class: cls || null, text: value })];
}

// -- services ----------------------------------------------------------------------------------

function servicesView(main) {
  const box = h("div", { class: "stack" });
  replace(main, box);
  const update = () => {
    const all = services();
    if (!all.length) {
      replace(box, h("p", { class: "muted", text: "No service yet: start an app with `borescope run --server ... --key ... --service NAME`." }));
      return;
    }
    replace(box, all.map((s) => {
      const live = s.instances.filter((i) => !i.gone).length;
      return h("div", { class: "card", "data-service": s.name },
        h("div", { class: "title-row" }, h("h2", { text: s.name }),
          h("span", { class: "muted", text: `${live} live of ${s.instances.length} instance${s.instances.length === 1 ? "" : "s"} · ${s.probes.length} probe${s.probes.length === 1 ? "" : "s"}` }),
          h("span", { class: "spacer" }), exceptionSwitch(s, update)),
        s.instances.length ? h("table", { class: "grid" },
          h("thead", {}, h("tr", {}, ["Host", "PID", "Python", "Engine", "Env", "Last seen", ""].map((t) => h("th", { text: t })))),
          h("tbody", {}, s.instances.map((i) => h("tr", { class: i.gone ? "gone" : "" },
            h("td", { class: "mono", text: i.host }), h("td", { class: "mono", text: i.pid }), h("td", { text: i.python }),
            h("td", { text: i.engine }), h("td", { text: i.env || "—" }), h("td", { title: new Date(i.last_seen_ms).toISOString(), text: ago(i.last_seen_ms) }),
            h("td", {}, badge(i.gone ? "gone" : "live"))))))
          : h("p", { class: "muted", text: "No instance has registered." }));
    }));
  };
  update();
  return { update };
}

/** The service's exception-snapshot setting and the button that flips it. */
function exceptionSwitch(service, after) {
  const on = service.exceptions;
  const button = h("button", { class: "small", "data-action": on ? "exceptions-off" : "exceptions-on", text: on ? "Turn off" : "Turn on" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("PUT", `/services/${encodeURIComponent(service.name)}/exceptions`, { enabled: !on });
      await refresh();
      after();
    } catch (error) {
      button.disabled = false;
      alert(error.message);
    }
  });
  return h("span", { class: "exceptions-setting", "data-exceptions": on ? "on" : "off" },
    h("span", { class: "muted", text: "Exception snapshots " }), badge(on ? "on" : "off"), " ", button);
}

// -- snapshots ---------------------------------------------------------------------------------

function snapshotTable(list, selected) {
  if (!list.length) return h("p", { class: "muted", text: "No snapshots yet: they appear here as they arrive." });
  return h("table", { class: "grid snapshots" }, h("tbody", {}, list.slice(0, 300).map((s) =>
    h("tr", { class: s.id === selected ? "selected" : "", "data-snapshot": s.id },
      h("td", { class: "mono nowrap" }, h("a", { href: "#/snapshots/" + s.id, text: clock(s.time_ms) })),
      h("td", {}, s.kind === "exception" ? badge("exception") : h("a", { href: "#/probes/" + s.probe_id, text: "#" + s.probe_id })),
      h("td", { class: "mono" }, s.exception ? s.exception.type + ": " : "", s.function || "", s.line ? h("span", { class: "muted", text: ":" + s.line }) : null),
      h("td", { class: "mono muted", text: `${s.host}:${s.pid}` })))));
}

function snapshotsView(main, id) {
  const probeFilter = h("select", { id: "filter-probe" });
  const serviceFilter = h("select", { id: "filter-service" });
  const list = h("div", { class: "list" });
  const detail = h("div", { class: "detail" });
  const filters = { probe: "", service: "" };
  probeFilter.addEventListener("change", () => { filters.probe = probeFilter.value; update(); });
  serviceFilter.addEventListener("change", () => { filters.service = serviceFilter.value; update(); });
  replace(main, h("div", { class: "split wide-right" },
    h("div", { class: "card" }, h("h2", { text: "Snapshots" }), h("div", { class: "filters" }, probeFilter, serviceFilter), list),
    detail));
  let shown = null;
  const update = () => {
    const options = (select, values, all) => {
      const current = select.value;
      replace(select, h("option", { value: "", text: all }), values.map(([v, t]) => h("option", { value: v, text: t })));
      select.value = current;
    };
    options(probeFilter, data.probes.map((p) => [String(p.id), `#${p.id} ${short(p.file)}:${p.line}`]), "all probes");
    options(serviceFilter, services().map((s) => [s.name, s.name]), "all services");
    const shownList = data.snapshots.filter((s) =>
      (!filters.probe || String(s.probe_id) === filters.probe) && (!filters.service || s.service === filters.service));
    replace(list, snapshotTable(shownList, id));
    if (id && shown !== id) {
      shown = id;
      showSnapshot(detail, id);
    } else if (!id) {
      replace(detail, h("div", { class: "card" }, h("p", { class: "muted", text: "Pick a snapshot on the left." })));
    }
  };
  update();
  return { update };
}

async function showSnapshot(detail, id) {
  replace(detail, h("div", { class: "card" }, h("p", { class: "muted", text: "Loading…" })));
  let snap;
  try {
    snap = await api("GET", "/snapshots/" + id);
  } catch (error) {
    replace(detail, h("div", { class: "card" }, h("p", { class: "error", text: error.message })));
    return;
  }
  const frames = snap.stack || [];
  const frameBox = h("div", { class: "frame-detail" });
  const stack = h("ol", { class: "stack-frames" });
  const select = (index) => {
    for (const li of stack.children) li.classList.toggle("selected", Number(li.dataset.index) === index);
    showFrame(frameBox, snap, frames[index], index);
  };
  replace(stack, frames.map((f, i) => h("li", { "data-index": i, class: "frame kind-" + (f.kind || "user"), tabindex: 0,
    onclick: () => select(i), onkeydown: (e) => { if (e.key === "Enter") select(i); } },
    h("span", { class: "fn mono", text: f.function }), " ", h("span", { class: "muted mono", text: `${short(f.file || "?")}:${f.line || "?"}` }))));
  const exc = snap.exception;
  replace(detail,
    h("div", { class: "card snapshot", "data-snapshot-id": snap.id },
      h("div", { class: "title-row" }, h("h2", { text: `Snapshot ${snap.id}` }),
        snap.kind === "exception" ? badge("exception") : h("a", { href: "#/probes/" + snap.probe_id, text: "probe #" + snap.probe_id }),
        h("span", { class: "spacer" }), h("span", { class: "muted", text: new Date(snap.time_ms).toLocaleString() })),
      exc ? h("div", { class: "exception" }, h("strong", { class: "mono", text: exc.type }), ": ", h("span", { class: "mono", text: exc.message || "" }),
        h("div", { class: "muted small", text: `${exc.origin || ""} · ${short(exc.file || "")}:${exc.line || ""} in ${exc.function || "?"}${exc.occurrences ? " · seen " + exc.occurrences + "×" : ""}` })) : null,
      h("dl", { class: "facts" }, fact("Service", snap.service), fact("Instance", `${snap.host}:${snap.pid}`, "mono"),
        snap.thread ? fact("Thread", snap.thread.name || String(snap.thread.id)) : null,
        snap.location ? fact("Where", `${snap.location.file}:${snap.location.line}`, "mono") : null,
        fact("Capture", (snap.capture_us || 0) + " µs")),
      snap.message !== undefined && snap.message !== null ? h("pre", { class: "logline", text: snap.message }) : null,
      (snap.notices || []).map((n) => h("p", { class: "notice", text: n.message + (n.hint ? " — " + n.hint : "") })),
      (snap.evals || []).length ? [h("h3", { text: "Captures" }), h("ul", { class: "tree" }, snap.evals.map((e) =>
        e.value ? variableNode({ ...e.value, name: e.expression }) : h("li", {}, h("span", { class: "name mono", text: e.expression }), " ", h("span", { class: "error", text: e.error || "" }))))] : null),
    h("div", { class: "card" }, h("h3", { text: "Stack" }), frames.length ? stack : h("p", { class: "muted", text: "No stack." })),
    h("div", { class: "card" }, frameBox));
  if (frames.length) select(0);
  else showFrame(frameBox, snap, null, 0);
}

function localsOf(snap, frame, index) {
  if (frame && Array.isArray(frame.locals)) return frame.locals;
  const more = (snap.frame_locals || []).find((f) => f.index === index);
  if (more) return more.locals;
  return index === 0 ? snap.locals || [] : null;
}

function showFrame(box, snap, frame, index) {
  const locals = localsOf(snap, frame, index);
  const source = frame && frame.source ? frame.source : index === 0 ? snap.source : null;
  replace(box,
    h("h3", { class: "frame-title", text: frame ? `Frame ${index + 1}: ${frame.function}` : "Locals" }),
    frame ? h("p", { class: "muted mono small", text: `${frame.file || "?"}:${frame.line || "?"}` }) : null,
    source ? sourceBlock(source, source.current_line || (frame && frame.line), "") : null,
    locals === null ? h("p", { class: "muted", text: "Locals were not captured for this frame (the probe's frames_with_locals)." })
      : locals.length ? h("ul", { class: "tree locals" }, locals.map(variableNode))
      : h("p", { class: "muted", text: "No locals." }),
    index === 0 && snap.locals_omitted ? h("p", { class: "notice", text: `${snap.locals_omitted} more locals were not captured (the variable limit).` }) : null);
}

// -- routing -------------------------------------------------------------------------------------

function route() {
  const main = document.getElementById("main");
  const [, name = "probes", id] = location.hash.replace(/^#\/?/, "#/").split("/");
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.view === (name || "probes"));
  const number = id ? Number(id) : null;
  if (name === "services") view = servicesView(main);
  else if (name === "snapshots") view = snapshotsView(main, number);
  else if (name === "probes" && number) view = probeView(main, number);
  else view = probesView(main);
}

async function start() {
  const response = await fetch("/session", { credentials: "same-origin" });
  if (!response.ok) {
    location.assign("/login");
    return;
  }
  const info = await response.json();
  session.csrf = info.csrf;
  session.header = info.csrf_header;
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("/logout", { method: "POST", headers: { [session.header]: session.csrf }, credentials: "same-origin" });
    location.assign("/login");
  });
  await refresh();
  window.addEventListener("hashchange", route);
  route();
  connect();
  // Relative times and expiry move on by themselves.
  setInterval(() => { if (view && !document.hidden && location.hash.startsWith("#/services")) view.update(); }, 10000);
}

start().catch((error) => {
  replace(document.getElementById("main"), h("p", { class: "error", text: "The page could not load: " + error.message }));
});
