// The locals tree of a snapshot: one node per captured variable, its children (captured, or
// parsed back from a container's repr) put in the DOM only when first opened, redacted and
// truncated values marked.

import { h } from "./dom.js";

// A captured value is its Python repr, cut to a budget. Containers ({...}, [...], (...)) are
// parsed back into children for the tree; anything else (objects, cut text) stays one line.
function parseRepr(s) {
  let i = 0;
  const ws = () => { while (s[i] === " ") i++; };
  const closing = { "{": "}", "[": "]", "(": ")" };
  function str() {
    const quote = s[i++];
    while (i < s.length && s[i] !== quote) i += s[i] === "\\" ? 2 : 1;
    if (i++ >= s.length) throw new Error("open string");
  }
  function value() {
    ws();
    const start = i;
    if (closing[s[i]]) return container(start);
    let depth = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === "'" || c === '"') { str(); continue; }
      if ("([{<".includes(c)) depth++;
      else if (")]}>".includes(c)) { if (depth === 0) break; depth--; }
      else if ((c === "," || c === ":") && depth === 0) break;
      i++;
    }
    if (i === start) throw new Error("empty");
    return { text: s.slice(start, i).trim() };
  }
  function container(start) {
    const open = s[i++];
    const close = closing[open];
    const node = { open, items: [], map: false };
    ws();
    while (s[i] !== close) {
      const first = value();
      ws();
      if (open === "{" && s[i] === ":") {
        i++;
        node.map = true;
        node.items.push({ key: first.text, value: value() });
      } else node.items.push({ value: first });
      ws();
      if (s[i] === ",") { i++; ws(); } else if (s[i] !== close) throw new Error("unexpected " + s[i]);
    }
    i++;
    node.text = s.slice(start, i);
    return node;
  }
  try {
    const node = value();
    ws();
    return i === s.length && node.items ? node : null;
  } catch {
    return null;
  }
}

const CONTAINER_TYPES = { "[": "list", "(": "tuple" };

function childrenOf(v) {
  if (v.children && v.children.length) return v.children;
  if (v.redacted || v.cut || typeof v.value !== "string") return [];
  const node = parseRepr(v.value);
  if (!node) return [];
  return node.items.map((item, index) => ({
    name: node.map ? `[${item.key}]` : `[${index}]`,
    value: item.value.text,
    type_name: item.value.items ? (item.value.open === "{" ? (item.value.map || !item.value.items.length ? "dict" : "set") : CONTAINER_TYPES[item.value.open]) : null,
  }));
}

export function variableNode(v) {
  const children = childrenOf(v);
  const value = h("span", { class: "value mono" + (v.redacted ? " redacted" : ""), text: v.redacted && !v.value ? "••••••" : v.value });
  const marks = [];
  if (v.redacted) marks.push(h("span", { class: "mark redacted-mark", title: "hidden: the name looks secret", text: "redacted" }));
  if (v.cut || v.full_length) marks.push(h("span", { class: "mark truncated", title: v.full_length ? `cut from ${v.full_length} characters` : "cut where captured", text: v.full_length ? `truncated · ${v.full_length} chars` : "truncated" }));
  const line = [h("span", { class: "name mono", text: v.name }), v.type_name ? h("span", { class: "type", text: v.type_name }) : null, value, marks];
  if (!children.length) {
    return h("li", { class: "var", "data-name": v.name }, h("span", { class: "twisty" }), line,
      v.expandable ? h("span", { class: "mark", title: "children were not captured (depth limit)", text: "…" }) : null);
  }
  const item = h("li", { class: "var collapsed", "data-name": v.name });
  const twisty = h("button", { class: "twisty", type: "button", "aria-expanded": "false", title: "expand", text: "▸" });
  let list = null;
  twisty.addEventListener("click", () => {
    const open = item.classList.toggle("collapsed") === false;
    twisty.textContent = open ? "▾" : "▸";
    twisty.setAttribute("aria-expanded", String(open));
    if (open && !list) {
      // Children enter the DOM only when first opened.
      list = h("ul", { class: "tree" }, children.map(variableNode));
      item.append(list);
    }
  });
  item.append(twisty, ...line.flat().filter(Boolean));
  return item;
}
