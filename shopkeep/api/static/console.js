// Shopkeep support console: the human agents' side of /v1/escalations. Plain JavaScript, no dependencies; every
// server value is written with textContent. The token stays in this tab's sessionStorage only.
(() => {
  "use strict";

  const TOKEN_KEY = "shopkeep.agentToken";
  const $ = (id) => document.getElementById(id);
  const els = {
    signIn: $("sign-in"),
    signInForm: $("sign-in-form"),
    token: $("token"),
    signInError: $("sign-in-error"),
    workspace: $("workspace"),
    whoami: $("whoami"),
    signOut: $("sign-out"),
    liveState: $("live-state"),
    tabs: document.querySelectorAll(".tab"),
    queueList: $("queue-list"),
    queueEmpty: $("queue-empty"),
    countOpen: $("count-open"),
    countClaimed: $("count-claimed"),
    ticket: $("ticket"),
    noTicket: $("no-ticket"),
    title: $("ticket-title"),
    meta: $("ticket-meta"),
    status: $("ticket-status"),
    claim: $("claim"),
    summary: $("ticket-summary"),
    transcript: $("transcript"),
    replyForm: $("reply-form"),
    reply: $("reply"),
    sendReply: $("send-reply"),
    replyHint: $("reply-hint"),
    resolveForm: $("resolve-form"),
    resolution: $("resolution"),
    resolveNote: $("resolve-note"),
    handBack: $("hand-back"),
    closeConversation: $("close-conversation"),
    context: $("context"),
    profile: $("profile"),
    orders: $("orders"),
    cart: $("cart"),
    notes: $("notes"),
    noteForm: $("note-form"),
    note: $("note"),
    toast: $("toast"),
  };

  let token = sessionStorage.getItem(TOKEN_KEY);
  let me = null;
  let status = "open";
  let selected = null; // the ticket shown
  let stream = null; // AbortController of the live stream

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function money(amount) {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(Number(amount));
  }

  function waited(seconds) {
    if (seconds < 60) return `${seconds}s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
    return `${Math.floor(seconds / 86400)} d`;
  }

  function toast(message) {
    els.toast.textContent = message;
    els.toast.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (els.toast.hidden = true), 5000);
  }

  // ---- API ------------------------------------------------------------------------------------------------
  async function api(path, options = {}) {
    const res = await fetch(path, {
      ...options,
      headers: { Accept: "application/json", Authorization: `Bearer ${token}`, ...(options.headers || {}) },
    });
    if (res.status === 401) {
      signOut("Your session ended: sign in again.");
      throw new Error("unauthorized");
    }
    const body = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) throw new Error((body && body.message) || `HTTP ${res.status}`);
    return body;
  }

  const post = (path, body) =>
    api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });

  // ---- sign in --------------------------------------------------------------------------------------------
  async function signIn(candidate) {
    token = candidate;
    const res = await fetch("/v1/agents/me", { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) {
      token = null;
      return false;
    }
    me = await res.json();
    sessionStorage.setItem(TOKEN_KEY, token);
    els.signIn.hidden = true;
    els.workspace.hidden = false;
    els.whoami.hidden = false;
    els.signOut.hidden = false;
    els.whoami.textContent = `${me.name} · ${me.role}`;
    await loadQueue();
    listen();
    return true;
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    me = null;
    selected = null;
    if (stream) stream.abort();
    stream = null;
    els.workspace.hidden = true;
    els.whoami.hidden = true;
    els.signOut.hidden = true;
    els.liveState.hidden = true;
    els.signIn.hidden = false;
    els.signInError.hidden = !message;
    els.signInError.textContent = message || "";
    els.token.value = "";
    els.token.focus();
  }

  els.signInForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const candidate = els.token.value.trim();
    if (!candidate) return;
    if (!(await signIn(candidate))) {
      els.signInError.textContent = "That token was not accepted. Check it and try again.";
      els.signInError.hidden = false;
    }
  });
  els.signOut.addEventListener("click", () => signOut());

  // ---- queue ----------------------------------------------------------------------------------------------
  async function loadQueue() {
    const [open, claimed] = await Promise.all([api("/v1/escalations?status=open"), api("/v1/escalations?status=claimed")]);
    els.countOpen.textContent = String(open.length);
    els.countClaimed.textContent = String(claimed.length);
    const tickets = status === "open" ? open : status === "claimed" ? claimed : await api("/v1/escalations?status=resolved");
    els.queueList.replaceChildren(...tickets.map(queueItem));
    els.queueEmpty.hidden = tickets.length > 0;
  }

  function customerName(ticket) {
    if (!ticket.customer) return "Anonymous customer";
    return ticket.customer.name || ticket.customer.id;
  }

  function queueItem(ticket) {
    const item = el("li", "queue-item");
    const button = el("button", "queue-button");
    button.type = "button";
    button.dataset.ticket = ticket.id;
    if (selected === ticket.id) button.setAttribute("aria-current", "true");
    const top = el("span", "queue-top");
    top.append(el("span", "queue-customer", customerName(ticket)), el("span", "queue-wait", waited(ticket.waiting_seconds)));
    const reason = el("span", "queue-reason", ticket.reason.replaceAll("_", " "));
    const summary = el("span", "queue-summary", ticket.summary);
    const foot = el("span", "queue-foot");
    foot.append(el("span", `status-pill ${ticket.status}`, ticket.status));
    if (ticket.assignee) foot.append(el("span", "queue-assignee", ticket.assignee === me.name ? "You" : ticket.assignee));
    button.append(top, reason, summary, foot);
    button.addEventListener("click", () => openTicket(ticket.id));
    item.append(button);
    return item;
  }

  for (const tab of els.tabs) {
    tab.addEventListener("click", () => {
      showTab(tab.dataset.status);
      loadQueue();
    });
  }

  // ---- one ticket -----------------------------------------------------------------------------------------
  async function openTicket(id) {
    selected = id;
    for (const button of els.queueList.querySelectorAll(".queue-button")) {
      button.toggleAttribute("aria-current", button.dataset.ticket === id);
    }
    const detail = await api(`/v1/escalations/${encodeURIComponent(id)}`);
    renderTicket(detail);
  }

  function renderTicket(ticket) {
    els.noTicket.hidden = true;
    els.ticket.hidden = false;
    els.context.hidden = false;
    els.title.textContent = `${customerName(ticket)} · ${ticket.reason.replaceAll("_", " ")}`;
    const nobody = ticket.status === "resolved" ? "nobody" : "nobody yet";
    const who = ticket.assignee ? (ticket.assignee === me.name ? "you" : ticket.assignee) : nobody;
    const wait = ticket.status === "resolved" ? `resolved after ${waited(ticket.waiting_seconds)}` : `waiting ${waited(ticket.waiting_seconds)}`;
    els.meta.textContent = `Ticket ${ticket.id} · ${wait} · assigned to ${who}`;
    els.status.textContent = ticket.status;
    els.status.className = `status-pill ${ticket.status}`;
    els.summary.textContent = ticket.summary;
    const mine = ticket.status === "claimed" && ticket.assignee === me.name;
    const open = ticket.status !== "resolved";
    els.claim.hidden = ticket.status !== "open";
    els.reply.disabled = !mine;
    els.sendReply.disabled = !mine;
    els.replyHint.textContent = mine
      ? "The customer sees your name with your message. Card numbers are masked."
      : ticket.status === "open"
        ? "Claim the ticket to reply."
        : ticket.status === "resolved"
          ? "This ticket is resolved."
          : `${ticket.assignee} owns this ticket.`;
    els.replyForm.hidden = !open;
    els.resolveForm.hidden = !open || !(mine || me.role === "supervisor");
    els.resolution.hidden = open;
    if (!open) {
      const outcome = ticket.handed_back ? "Handed back to the assistant" : "Conversation closed";
      els.resolution.textContent = ticket.resolution_note ? `${outcome}: ${ticket.resolution_note}` : `${outcome}.`;
    }
    renderTranscript(ticket.transcript);
    renderContext(ticket.context);
    renderNotes(ticket.notes);
  }

  function shorten(text, size) {
    return text.length > size ? `${text.slice(0, size - 1)}…` : text;
  }

  const TOOL_EVENT = (payload) => {
    const args = Object.values(payload.arguments || {}).map((value) => shorten(String(value), 40));
    return `${payload.name}(${args.join(", ")}) · ${payload.ok ? "ok" : "refused"}`;
  };

  function renderTranscript(events) {
    els.transcript.replaceChildren();
    for (const event of events) {
      const payload = event.payload || {};
      if (event.kind === "user" && event.text) line("user", "Customer", event.text);
      else if (event.kind === "assistant" && event.text) line("assistant", `Assistant${payload.agent ? ` · ${payload.agent}` : ""}`, event.text);
      else if (event.kind === "agent" && event.text) line("agent", payload.agent, event.text);
      else if (event.kind === "tool") marker(`Tool: ${TOOL_EVENT(payload)}`);
      else if (event.kind === "proposal") marker(`Proposal waiting for a yes: ${payload.tool}`);
      else if (event.kind === "agent_joined") marker(`${payload.agent} joined`);
      else if (event.kind === "bot_back") marker(`${payload.agent} handed back to the assistant`);
      else if (event.kind === "closed") marker(`${payload.agent || "An agent"} closed the conversation`);
    }
    els.transcript.scrollTop = els.transcript.scrollHeight;
  }

  function line(role, who, text) {
    const item = el("li", `msg ${role}`);
    item.append(el("span", "line-who", who), el("div", "bubble", text));
    els.transcript.append(item);
  }

  function marker(text) {
    els.transcript.append(el("li", "status-line", text));
  }

  function renderContext(context) {
    els.profile.replaceChildren();
    const profile = context.profile;
    if (!profile) {
      els.profile.append(el("p", "muted", "Not identified in this conversation."));
    } else {
      const list = el("dl", "facts");
      const fact = (term, value) => list.append(el("dt", "", term), el("dd", "", value));
      fact("Name", profile.name);
      fact("Email", profile.email);
      fact("Customer id", profile.id);
      const a = profile.address;
      fact("Address", [a.address1, a.address2, `${a.city}, ${a.state} ${a.zip}`, a.country].filter(Boolean).join(", "));
      const methods = profile.payment_methods.map((m) =>
        m.source === "credit_card" ? `${m.brand} ····${m.last_four}` : m.source === "gift_card" ? `gift card (${money(m.balance)})` : m.source,
      );
      fact("Payment", methods.join(" · ") || "none saved");
      els.profile.append(list);
    }
    els.orders.replaceChildren();
    for (const order of context.orders) {
      const item = el("li", "order");
      const head = el("div", "order-head");
      head.append(el("span", "order-id", order.order_id), el("span", `status-pill order-${order.status}`, order.status));
      item.append(head, el("div", "muted", `${order.items.map((i) => i.name).join(", ")} · ${money(order.total)}`));
      els.orders.append(item);
    }
    if (!context.orders.length) els.orders.append(el("li", "muted", "No orders."));
    els.cart.replaceChildren();
    if (!context.cart) els.cart.append(el("li", "muted", "Empty."));
    else {
      for (const cartLine of context.cart.lines) {
        els.cart.append(el("li", "", `${cartLine.quantity} × ${cartLine.name} · ${money(cartLine.line_total)}`));
      }
      els.cart.append(el("li", "cart-subtotal", `Subtotal ${money(context.cart.subtotal)}`));
    }
  }

  function renderNotes(notes) {
    els.notes.replaceChildren();
    for (const note of notes) {
      const item = el("li", "note");
      item.append(el("span", "note-who", `${note.author} · ${new Date(note.created_at).toLocaleTimeString()}`), el("p", "", note.text));
      els.notes.append(item);
    }
    if (!notes.length) els.notes.append(el("li", "muted", "No notes yet."));
  }

  async function act(action) {
    try {
      await action();
    } catch (error) {
      if (error.message !== "unauthorized") toast(error.message);
    }
    await refresh();
  }

  async function refresh() {
    await loadQueue().catch(() => {});
    if (selected) await openTicket(selected).catch(() => {});
  }

  function showTab(name) {
    status = name;
    for (const tab of els.tabs) tab.setAttribute("aria-selected", String(tab.dataset.status === name));
  }

  els.claim.addEventListener("click", () =>
    act(async () => {
      await post(`/v1/escalations/${selected}/claim`);
      showTab("claimed"); // the ticket moves to the claimed list: follow it there
    }),
  );
  els.replyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = els.reply.value.trim();
    if (!text) return;
    act(async () => {
      await post(`/v1/escalations/${selected}/messages`, { text });
      els.reply.value = "";
    });
  });
  els.reply.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.replyForm.requestSubmit();
    }
  });
  els.noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = els.note.value.trim();
    if (!text) return;
    act(async () => {
      await post(`/v1/escalations/${selected}/notes`, { text });
      els.note.value = "";
    });
  });
  const resolve = (handBack) =>
    act(async () => {
      await post(`/v1/escalations/${selected}/resolve`, { note: els.resolveNote.value.trim(), hand_back: handBack });
      els.resolveNote.value = "";
      toast(handBack ? "Resolved: the assistant has the conversation again." : "Resolved: the conversation is closed.");
    });
  els.handBack.addEventListener("click", () => resolve(true));
  els.closeConversation.addEventListener("click", () => resolve(false));

  // ---- live updates ---------------------------------------------------------------------------------------
  async function listen() {
    if (stream) stream.abort();
    const controller = new AbortController();
    stream = controller;
    try {
      const res = await fetch("/v1/escalations/events", {
        headers: { Accept: "text/event-stream", Authorization: `Bearer ${token}` },
        signal: controller.signal,
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      els.liveState.hidden = false;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const blocks = buffer.split("\n\n");
        buffer = blocks.pop();
        for (const block of blocks) {
          let name = "message";
          let data = null;
          for (const row of block.split("\n")) {
            if (row.startsWith("event:")) name = row.slice(6).trim();
            else if (row.startsWith("data:")) data = JSON.parse(row.slice(5));
          }
          if (data !== null) onEvent(name, data);
        }
      }
    } catch (_) {
      /* aborted, or the server went away: retry below */
    }
    els.liveState.hidden = true;
    if (stream === controller && token) setTimeout(listen, 2000);
  }

  let pending = null;
  let touched = false; // an event of the burst was about the ticket on screen
  function onEvent(name, data) {
    if (name === "ready") return;
    if (name === "escalation.created") toast(`New escalation from ${customerName(data)}`);
    touched = touched || data.id === selected;
    // Several events often come together (a claim, its message): one refresh for the burst.
    clearTimeout(pending);
    pending = setTimeout(() => {
      loadQueue().catch(() => {});
      if (selected && touched) openTicket(selected).catch(() => {});
      touched = false;
    }, 150);
  }

  if (token) {
    signIn(token).then((ok) => ok || signOut());
  } else {
    signOut();
  }
})();
