// The analytics page: signs in with an agent token (kept in this tab's sessionStorage, like the console), reads
// /v1/analytics and draws its figures as inline SVG. Every server value is written with textContent.
(() => {
  "use strict";
  const TOKEN_KEY = "shopkeep.agentToken";
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, text) {
    const node = tag === "svg" || ["rect", "text", "line", "title", "g"].includes(tag)
      ? document.createElementNS(SVG, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function bars(target, name, data) {
    const entries = Object.entries(data);
    const box = $(target);
    box.replaceChildren();
    if (!entries.length) { box.append(el("p", { class: "note" }, "Nothing yet.")); return; }
    const row = 20, left = 170, width = 300;
    const peak = Math.max(...entries.map(([, v]) => v)) || 1;
    const svg = el("svg", { "data-chart": name, width: left + width + 50, height: entries.length * row + 6, role: "img" });
    entries.forEach(([label, value], i) => {
      const y = i * row + 3;
      svg.append(el("text", { x: left - 6, y: y + 13, "text-anchor": "end" }, label));
      const bar = el("rect", { x: left, y, width: Math.max(1, (width * value) / peak), height: row - 6, fill: "#047857" });
      bar.append(el("title", {}, `${label}: ${value}`));
      svg.append(bar, el("text", { x: left + (width * value) / peak + 4, y: y + 13 }, value));
    });
    box.append(svg);
  }

  function card(label, value) {
    const node = el("div", { class: "card" }, label);
    node.append(el("b", {}, value));
    return node;
  }

  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  // Money comes as exact strings per currency: {"USD": "12.30"}; "-" before any order.
  const amounts = (byCurrency) => Object.entries(byCurrency || {}).map(([currency, value]) => `${currency} ${value}`).join(" · ") || "-";

  function render(data) {
    $("cards").replaceChildren(
      card("Conversations", data.conversations),
      card("Containment (no human)", pct(data.containment)),
      card("Escalation rate", pct(data.escalation_rate)),
      card("Conversion", pct(data.conversion)),
      card("Revenue per conversation", amounts(data.revenue_per_conversation)),
      card("Mean order value", amounts(data.order_value)),
      card("Latency p50 / p90", `${Math.round(data.latency_ms.p50)} / ${Math.round(data.latency_ms.p90)} ms`),
    );
    bars("per-day", "per-day", data.per_day);
    bars("intents", "intents", data.top_intents);
    bars("reasons", "reasons", data.escalation_reasons);
    bars("rails", "rails", data.rail_trips);
    bars("latency", "latency", { p50: Math.round(data.latency_ms.p50), p90: Math.round(data.latency_ms.p90), p99: Math.round(data.latency_ms.p99) });
    const table = $("unanswered");
    table.replaceChildren(el("tr", {}, ""));
    table.firstChild.append(el("th", {}, "question"), el("th", {}, "times"));
    for (const item of data.unanswered) {
      const tr = el("tr", {});
      tr.append(el("td", {}, item.question), el("td", {}, item.count));
      table.append(tr);
    }
  }

  async function load(token) {
    const res = await fetch("/v1/analytics", { headers: { Accept: "application/json", Authorization: `Bearer ${token}` } });
    if (!res.ok) return false;
    render(await res.json());
    $("sign-in").hidden = true;
    $("analytics").hidden = false;
    return true;
  }

  async function start() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token && await load(token)) return;
    $("sign-in").hidden = false;
  }

  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (await load(token)) {
      sessionStorage.setItem(TOKEN_KEY, token);
    } else {
      $("sign-in-error").textContent = "That token is not valid.";
      $("sign-in-error").hidden = false;
    }
  });
  start();
})();
