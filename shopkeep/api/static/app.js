// Shopkeep web chat: talks to /v1/conversations (server-sent events), renders replies, product cards, the cart
// and confirmation cards. Plain JavaScript, no dependencies; every server value is written with textContent.
(() => {
  "use strict";

  const STORAGE_KEY = "shopkeep.conversation";
  const SHOP_NAME = document.body.dataset.shopName || "the shop";
  const WELCOME =
    `Hi! I'm the ${SHOP_NAME} assistant. I can help you find products, manage your cart, and track, cancel or ` +
    "change your orders. How can I help today?";
  const TOOL_LABELS = {
    find_user_id_by_email: "Verified your identity",
    find_user_id_by_name_zip: "Verified your identity",
    get_user_details: "Looked up your account",
    get_order_details: "Looked up order",
    get_product_details: "Looked up product details",
    get_item_details: "Looked up an item",
    list_all_product_types: "Browsed the catalog",
    search_products: "Searched the catalog",
    find_variant: "Matched the options you asked for",
    recommend_similar: "Found similar products",
    search_knowledge: "Checked our help centre",
    calculate: "Did the math",
    add_to_cart: "Updated your cart",
    update_cart_quantity: "Updated your cart",
    remove_from_cart: "Updated your cart",
    view_cart: "Checked your cart",
    cancel_pending_order: "Cancelled order",
    modify_pending_order_address: "Changed the shipping address",
    modify_pending_order_items: "Changed the order's items",
    modify_pending_order_payment: "Changed the payment method",
    modify_user_address: "Updated your address",
    return_delivered_order_items: "Started a return",
    exchange_delivered_order_items: "Started an exchange",
    transfer_to_human_agents: "Passed you to a human agent",
  };

  const $ = (id) => document.getElementById(id);
  const els = {
    messages: $("messages"),
    form: $("composer"),
    input: $("composer-input"),
    send: $("send"),
    typing: $("typing"),
    typingText: $("typing-text"),
    charCount: $("char-count"),
    human: $("human-banner"),
    humanText: $("human-banner-text"),
    statusText: $("status-text"),
    cartLines: $("cart-lines"),
    cartEmpty: $("cart-empty"),
    cartTotals: $("cart-totals"),
    cartItems: $("cart-items"),
    cartSubtotal: $("cart-subtotal"),
    cartCount: $("cart-count"),
    cartToggle: $("cart-toggle"),
    sidebar: document.querySelector(".sidebar"),
    newConversation: $("new-conversation"),
    proposalTemplate: $("tpl-proposal"),
  };

  let conversationId = sessionStorage.getItem(STORAGE_KEY);
  let busy = false;
  let closed = false;
  let live = null; // the conversation's live event stream (a person's messages)
  // The last transcript event this page has shown: the live stream starts after it, so nothing that happened
  // between reading the transcript and connecting is lost (a reconnecting EventSource sends Last-Event-ID itself).
  let shownEventId = 0;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function money(amount, currency) {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: currency || "USD" }).format(Number(amount));
  }

  function scrollToEnd() {
    els.messages.scrollTop = els.messages.scrollHeight;
  }

  // ---- messages -------------------------------------------------------------------------------------------
  function addMessage(role, text) {
    const item = el("li", `msg ${role}`);
    item.dataset.role = role;
    const label = el("span", "visually-hidden", role === "user" ? "You said:" : role === "assistant" ? "Assistant:" : "Notice:");
    item.append(label);
    if (text) item.append(el("div", "bubble", text));
    els.messages.append(item);
    scrollToEnd();
    return item;
  }

  // A person from the shop's team: their name above the message, never the assistant's look.
  function addAgentMessage(name, text) {
    const item = el("li", "msg agent");
    item.dataset.role = "agent";
    item.append(el("span", "visually-hidden", `${name} from our team said:`));
    const who = el("div", "agent-name");
    who.append(el("span", "agent-initial", (name || "?").slice(0, 1).toUpperCase()), el("span", "", `${name} · Support team`));
    who.querySelector(".agent-initial").setAttribute("aria-hidden", "true");
    item.append(who, el("div", "bubble", text));
    els.messages.append(item);
    scrollToEnd();
    return item;
  }

  // A line across the conversation: a person joined, the assistant is back, the conversation closed.
  function addStatus(text, kind) {
    const item = el("li", `status-line ${kind || ""}`.trim());
    item.setAttribute("role", "status");
    item.append(el("span", "", text));
    els.messages.append(item);
    scrollToEnd();
    return item;
  }

  function showClosed(text) {
    closed = true;
    const item = addMessage("assistant", text);
    const restart = el("button", "btn btn-primary restart", "Start a new conversation");
    restart.type = "button";
    restart.addEventListener("click", () => els.newConversation.click());
    item.append(restart);
    els.human.hidden = true;
    setStatusText();
  }

  function setStatusText() {
    els.statusText.parentElement.classList.toggle("closed", closed);
    els.statusText.textContent = closed
      ? "This conversation is closed"
      : !els.human.hidden
        ? "A member of our team is with you"
        : "Online · replies in a moment";
  }

  function activityList(toolCalls) {
    const list = el("ul", "activity");
    list.setAttribute("aria-label", "What the assistant did");
    for (const call of toolCalls) {
      const label = TOOL_LABELS[call.name] || call.name.replaceAll("_", " ");
      const target = call.arguments && call.arguments.order_id ? ` ${call.arguments.order_id}` : "";
      const line = el("li", call.ok ? "" : "failed", call.ok ? label + target : `${label + target}: not done`);
      list.append(line);
    }
    return list;
  }

  function productCard(card) {
    const article = el("article", "product");
    article.setAttribute("aria-label", card.name);
    if (card.image_url) {
      const image = el("img", "product-image");
      image.src = card.image_url;
      image.alt = card.name;
      image.loading = "lazy";
      image.referrerPolicy = "no-referrer";
      // A picture that cannot be loaded leaves no broken-image icon behind.
      image.addEventListener("error", () => image.remove());
      article.append(image);
    }
    article.append(el("h3", "product-name", card.name));
    const price =
      Number(card.price_min) === Number(card.price_max)
        ? money(card.price_min, card.currency)
        : `${money(card.price_min, card.currency)} – ${money(card.price_max, card.currency)}`;
    article.append(el("div", "product-price", price));
    const options = el("ul", "product-options");
    for (const [key, values] of Object.entries(card.options || {})) {
      const row = el("li");
      row.append(el("span", "opt-key", `${key}: `), document.createTextNode(values.join(", ")));
      options.append(row);
    }
    if (options.childElementCount) article.append(options);
    const stockText = !card.available
      ? "Out of stock"
      : card.variant_count > 1
        ? `In stock · ${card.in_stock} of ${card.variant_count} options`
        : "In stock";
    article.append(el("span", `stock ${card.available ? "in" : "out"}`, stockText));
    article.append(el("span", "product-id", card.item_id ? `Item ${card.item_id}` : `Product ${card.product_id}`));
    return article;
  }

  function proposalCard(proposal) {
    const node = els.proposalTemplate.content.firstElementChild.cloneNode(true);
    node.setAttribute("aria-label", "Confirm this action");
    node.dataset.fingerprint = proposal.fingerprint;
    node.querySelector(".proposal-summary").textContent = proposal.summary;
    const confirm = node.querySelector(".confirm");
    const cancel = node.querySelector(".cancel");
    const stateLine = node.querySelector(".proposal-state");
    const settle = (text) => {
      confirm.disabled = true;
      cancel.disabled = true;
      node.classList.add("done");
      stateLine.textContent = text;
    };
    node.settle = settle;
    confirm.addEventListener("click", () => {
      if (busy) return;
      settle("You confirmed.");
      sendMessage("yes", proposal.fingerprint);
    });
    cancel.addEventListener("click", () => {
      if (busy) return;
      settle("You cancelled; nothing was changed.");
      sendMessage("no");
    });
    return node;
  }

  function settleOpenProposals(text) {
    for (const node of els.messages.querySelectorAll(".proposal:not(.done)")) node.settle(text);
  }

  // Thumbs up or down on a reply: stored as a rating event of the conversation (experiments and analytics read it).
  function ratingButtons() {
    const group = el("span", "rating");
    const buttons = [["up", "Good reply"], ["down", "Bad reply"]].map(([value, label]) => {
      const button = el("button", "rate", label);
      button.type = "button";
      button.dataset.value = value;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", async () => {
        const res = await fetch(`/v1/conversations/${encodeURIComponent(conversationId)}/ratings`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ value }),
        });
        if (!res.ok) return;
        for (const other of buttons) other.disabled = true;
        button.setAttribute("aria-pressed", "true");
      });
      return button;
    });
    group.append(...buttons);
    return group;
  }

  function renderTurn(turn) {
    const item = addMessage("assistant", "");
    if (turn.tool_calls && turn.tool_calls.length) item.append(activityList(turn.tool_calls));
    if (turn.awaiting_confirmation && turn.proposal) {
      item.append(proposalCard(turn.proposal));
    } else if (turn.reply) {
      item.append(el("div", "bubble", turn.reply));
    }
    if (turn.products && turn.products.length) {
      const grid = el("div", "products");
      grid.setAttribute("aria-label", "Products");
      for (const card of turn.products) grid.append(productCard(card));
      item.append(grid);
    }
    if (turn.agent && turn.agent !== "human") {
      const meta = el("div", "meta");
      meta.append(el("span", "agent-chip", turn.agent));
      if (turn.reply) meta.append(ratingButtons());
      item.append(meta);
    }
    if (!item.querySelector(".bubble, .proposal, .products, .activity")) item.remove();
    if (turn.cart) renderCart(turn.cart);
    if (turn.mode === "closed") {
      item.remove();
      showClosed(turn.reply);
      return;
    }
    if (turn.mode === "human" && els.human.hidden) setHuman(true);
    else if (turn.mode !== "human") setHuman(false);
    scrollToEnd();
  }

  function setHuman(on, name) {
    els.human.hidden = !on;
    if (on) {
      els.humanText.textContent = name
        ? `${name} from our team has joined and will reply here.`
        : "You're being connected to a member of our team. They'll reply here.";
    }
    setStatusText();
  }

  // ---- live events: a person's messages arrive without the customer writing ---------------------------------
  function follow() {
    if (!conversationId || typeof EventSource === "undefined") return;
    if (live && live.conversationId === conversationId) return;
    if (live) live.close();
    const path = `/v1/conversations/${encodeURIComponent(conversationId)}/events?after=${shownEventId}`;
    const source = new EventSource(path);
    source.conversationId = conversationId;
    const data = (event) => JSON.parse(event.data);
    source.addEventListener("agent.joined", (event) => {
      const { agent } = data(event);
      addStatus(`${agent} from our team joined the conversation`, "joined");
      setHuman(true, agent);
    });
    source.addEventListener("agent", (event) => {
      const message = data(event);
      addAgentMessage(message.agent, message.text);
    });
    source.addEventListener("bot.back", (event) => {
      const { agent } = data(event);
      addStatus(`${agent} handed you back to the assistant`, "back");
      setHuman(false);
    });
    source.addEventListener("closed", (event) => {
      showClosed(data(event).text);
      source.close();
    });
    live = source;
  }

  // ---- cart -----------------------------------------------------------------------------------------------
  function renderCart(cart) {
    els.cartLines.replaceChildren();
    for (const line of cart.lines) {
      const row = el("li", "cart-line");
      row.append(el("span", "cart-line-name", line.name));
      row.append(el("span", "cart-line-total", money(line.line_total, cart.currency)));
      const opts = Object.values(line.options || {}).join(" · ");
      row.append(el("span", "cart-line-opts", opts));
      row.append(el("span", "cart-line-qty", `${line.quantity} × ${money(line.unit_price, cart.currency)}`));
      els.cartLines.append(row);
    }
    const empty = cart.lines.length === 0;
    els.cartEmpty.hidden = !empty;
    els.cartTotals.hidden = empty;
    els.cartItems.textContent = String(cart.item_count);
    els.cartSubtotal.textContent = money(cart.subtotal, cart.currency);
    els.cartCount.textContent = String(cart.item_count);
  }

  function resetCart() {
    renderCart({ lines: [], item_count: 0, subtotal: 0, currency: "USD" });
  }

  // ---- server ---------------------------------------------------------------------------------------------
  async function createConversation() {
    const res = await fetch("/v1/conversations", { method: "POST", headers: { Accept: "application/json" } });
    if (!res.ok) throw await apiError(res);
    const body = await res.json();
    conversationId = body.id;
    sessionStorage.setItem(STORAGE_KEY, conversationId);
    shownEventId = 0;
    follow();
    return conversationId;
  }

  async function apiError(res) {
    let message = `The assistant is unavailable (HTTP ${res.status}). Please try again.`;
    try {
      const body = await res.json();
      if (body && body.message) message = body.message;
      if (body && body.error_id) message += ` (error id ${body.error_id})`;
    } catch (_) {
      /* not JSON: keep the generic message */
    }
    const error = new Error(message);
    error.status = res.status;
    return error;
  }

  function parseEvents(buffer, onEvent) {
    const blocks = buffer.split("\n\n");
    const rest = blocks.pop();
    for (const block of blocks) {
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
    return rest;
  }

  async function streamTurn(text, confirm) {
    const body = JSON.stringify(confirm ? { text, confirm } : { text });
    const res = await fetch(`/v1/conversations/${encodeURIComponent(conversationId)}/messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body,
    });
    if (!res.ok) throw await apiError(res);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let outcome = null;
    let live = null; // the reply as it is written; the final reply replaces it
    const onEvent = (name, data) => {
      if (name === "reply.delta") {
        if (!live) live = addMessage("assistant", "");
        let bubble = live.querySelector(".bubble");
        if (!bubble) live.append((bubble = el("div", "bubble")));
        bubble.textContent += data.text;
        scrollToEnd();
      } else if (name === "tool_call") els.typingText.textContent = `${TOOL_LABELS[data.name] || "Working"}…`;
      else if (name === "turn.completed") outcome = { turn: data };
      else if (name === "error") outcome = { error: data };
    };
    const dropLive = () => live && live.remove();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), onEvent);
      }
      parseEvents(buffer + "\n\n", onEvent);
    } finally {
      dropLive();
    }
    if (!outcome) throw new Error("The connection was interrupted before the reply arrived. Please try again.");
    if (outcome.error) {
      const suffix = outcome.error.error_id ? ` (error id ${outcome.error.error_id})` : "";
      throw new Error(outcome.error.message + suffix);
    }
    return outcome.turn;
  }

  function setBusy(value) {
    busy = value;
    els.send.disabled = value;
    els.typing.hidden = !value;
    els.typingText.textContent = "Assistant is typing…";
    for (const button of els.messages.querySelectorAll(".proposal:not(.done) button")) button.disabled = value;
  }

  async function sendMessage(text, confirm) {
    if (busy) return;
    const trimmed = text.trim();
    if (!trimmed) return;
    if (!confirm) settleOpenProposals("Answered in the chat.");
    addMessage("user", trimmed);
    setBusy(true);
    try {
      if (!conversationId) await createConversation();
      let turn;
      try {
        turn = await streamTurn(trimmed, confirm);
      } catch (error) {
        if (error.status !== 404) throw error;
        // The conversation is gone (the demo store was reset): start a new one and say it again.
        await createConversation();
        resetCart();
        turn = await streamTurn(trimmed);
      }
      renderTurn(turn);
    } catch (error) {
      addMessage("notice", error.message || String(error));
    } finally {
      setBusy(false);
    }
  }

  async function restore() {
    if (!conversationId) return;
    try {
      const res = await fetch(`/v1/conversations/${encodeURIComponent(conversationId)}`);
      if (res.status === 404) {
        sessionStorage.removeItem(STORAGE_KEY);
        conversationId = null;
        return;
      }
      if (!res.ok) return;
      const transcript = await res.json();
      let lastAssistant = null;
      let humanMode = false;
      let person = null;
      let closedText = null;
      for (const event of transcript.events) {
        const payload = event.payload || {};
        if (event.id != null) shownEventId = Math.max(shownEventId, event.id);
        if (event.kind === "user" && event.text) addMessage("user", event.text);
        else if (event.kind === "agent" && event.text) addAgentMessage(payload.agent, event.text);
        else if (event.kind === "agent_joined") {
          addStatus(`${payload.agent} from our team joined the conversation`, "joined");
          humanMode = true;
          person = payload.agent;
        } else if (event.kind === "bot_back") {
          addStatus(`${payload.agent} handed you back to the assistant`, "back");
          humanMode = false;
        } else if (event.kind === "closed") {
          closedText = payload.text;
        } else if (event.kind === "assistant" && event.text) {
          if (closedText) continue; // the closed notice is shown once, at the end
          lastAssistant = addMessage("assistant", event.text);
          const agent = payload.agent;
          if (agent === "human") humanMode = true;
          if (agent && agent !== "human") {
            const meta = el("div", "meta");
            meta.append(el("span", "agent-chip", agent));
            lastAssistant.append(meta);
          }
          if (agent === "escalation") humanMode = true;
        }
      }
      const pending = transcript.pending_proposal;
      if (pending && lastAssistant) {
        lastAssistant.querySelector(".bubble").replaceWith(proposalCard(pending));
      }
      if (closedText) showClosed(closedText);
      else {
        setHuman(humanMode, person);
        follow();
      }
      scrollToEnd();
    } catch (_) {
      /* offline or server restarting: start fresh on the next message */
    }
  }

  // ---- composer and controls ------------------------------------------------------------------------------
  function autosize() {
    els.input.style.height = "auto";
    els.input.style.height = `${Math.min(els.input.scrollHeight, 160)}px`;
    const length = els.input.value.length;
    els.charCount.hidden = length < 8000;
    els.charCount.textContent = `${length.toLocaleString()} / 10,000`;
    els.charCount.classList.toggle("near", length > 9500);
  }

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = els.input.value;
    if (!text.trim() || busy) return;
    els.input.value = "";
    autosize();
    sendMessage(text);
  });
  els.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.form.requestSubmit();
    }
  });
  els.input.addEventListener("input", autosize);

  for (const chip of document.querySelectorAll(".chip[data-prompt]")) {
    chip.addEventListener("click", () => {
      sendMessage(chip.dataset.prompt);
      els.input.focus();
    });
  }

  els.newConversation.addEventListener("click", () => {
    sessionStorage.removeItem(STORAGE_KEY);
    conversationId = null;
    els.messages.replaceChildren();
    if (live) live.close();
    live = null;
    shownEventId = 0;
    closed = false;
    setHuman(false);
    resetCart();
    addMessage("assistant", WELCOME);
    els.input.focus();
  });

  els.cartToggle.addEventListener("click", () => {
    const open = els.sidebar.classList.toggle("open");
    els.cartToggle.setAttribute("aria-expanded", String(open));
  });
  els.sidebar.addEventListener("click", (event) => {
    if (event.target === els.sidebar) {
      els.sidebar.classList.remove("open");
      els.cartToggle.setAttribute("aria-expanded", "false");
    }
  });

  addMessage("assistant", WELCOME);
  restore();
})();
