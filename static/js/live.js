/* Shared by every page (screen, tablet, phone, arrivals, kiosk): the socket link, the
   server clock, time formatting in the event's zone, the timeline a screen follows while
   offline, JSON requests with the CSRF token, and the toast and VIP alert of organisers.
   Every piece of user text goes into the page through textContent, never as HTML. */
"use strict";

const Kiosk = (() => {
  const $ = (id) => document.getElementById(id);
  const readJSON = (id) => {
    const node = $(id);
    return node ? JSON.parse(node.textContent) : {};
  };
  const boot = readJSON("boot");
  const t = readJSON("i18n");

  /* The clock shows server time (a simulated clock may run faster than real time):
     each state carries server_time and clock_speed, and the page extrapolates. */
  const clock = {
    base: Date.now(),
    at: Date.now(),
    speed: 1,
    set(state) {
      this.base = Date.parse(state.server_time);
      this.at = Date.now();
      this.speed = state.clock_speed || 1;
    },
    now() {
      return this.base + (Date.now() - this.at) * this.speed;
    },
  };

  const tz = boot.timezone || "Europe/Paris";
  const lang = boot.locale || document.documentElement.lang || "fr";
  // Made on first use: building a formatter for a time zone loads the zone's rules,
  // 150 ms of a mid-range phone's start-up (measured), which a page that shows no time
  // before the user acts need not pay.
  let parts = null;

  /* « 10 h 05 » in French, 10:05 in English, always in the event's time zone. */
  function hm(moment) {
    parts = parts || new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    const p = {};
    for (const part of parts.formatToParts(new Date(moment))) p[part.type] = part.value;
    const h = String(Number(p.hour));
    return lang === "fr" ? `${h} h ${p.minute}` : `${h}:${p.minute}`;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* While the link is down, what the screen shows now: the server's timeline says what
     auto mode shows from each coming boundary (empty in manual mode, which holds), and
     this only picks the entry the clock has reached and fills in the blocks from the
     ones the page booted with (or edited since), moved where `projected` says, exactly as the
     server sends them. No rule about times is decided here. */
  function followTimeline(state, blocks, now) {
    let entry = null;
    for (const e of state.timeline) if (Date.parse(e.at) <= now) entry = e;
    if (!entry) return state;
    // The blocks as they stand: the page's, or the state's when the day edited them.
    const printed = (id) => Object.assign({}, state.edited[id] || blocks.find((b) => b.id === id));
    return Object.assign({}, state, {
      phase: entry.phase,
      session: entry.session ? printed(entry.session) : null,
      speaker: null,
      turn_index: null,
      next: entry.next ? Object.assign(printed(entry.next), state.projected[entry.next]) : null,
    });
  }

  /* Pages that change something (tablet, arrivals, kiosk) carry their session's CSRF
     token in a meta tag; the API wants it back in a header. */
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : null;

  const REQUEST_TIMEOUT_MS = 8000;

  /* A JSON request with the session cookie and CSRF token. Resolves to the answer's
     status and JSON body; rejects when the server does not answer in JSON. */
  async function request(method, url, body) {
    const headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      // A request the network swallowed must not hold the page: the tablet's buttons and
      // the kiosk's scanning wait for its answer. Rejected after this, like any failure.
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { ok: response.ok, status: response.status, data: await response.json() };
  }

  /* A one-line answer in the page's #toast: `kind` ("ok" or "error") colours it, and
     with `seconds` it clears itself, so an old answer is not read as the latest. */
  let toastTimer = null;
  function toast(text, kind, seconds) {
    const box = $("toast");
    box.textContent = text;
    if (kind) box.dataset.kind = kind;
    else delete box.dataset.kind;
    clearTimeout(toastTimer);
    if (seconds) toastTimer = setTimeout(() => { box.textContent = ""; }, seconds * 1000);
  }

  /* Connect, join the rooms, and get the full state now and after every change.
     socket.io reconnects by itself; on each reconnection the page joins again and
     so resyncs, whatever it missed. */
  /* Follow rooms: `join` says more (full: true and the stage secret for the lectern's
     screen; an organiser's page sends full: true alone). */
  function connect(rooms, onState, onLink, join = {}) {
    const socket = io({ reconnectionDelayMax: 3000 });
    socket.on("connect", () => {
      socket.emit("join", Object.assign({ rooms }, join));
      onLink(true);
    });
    socket.on("disconnect", () => onLink(false));
    socket.on("connect_error", () => onLink(false));
    socket.on("state", (state) => {
      clock.set(state);
      onState(state);
    });
    return socket;
  }

  /* A length of time as people say it: « 45 min », « 4 h », « 6 h 10 ». */
  function duration(n) {
    if (n < 60) return fill(t.minutes, { n });
    const h = Math.floor(n / 60);
    const m = n % 60;
    return m ? fill(t.hours, { h, mm: String(m).padStart(2, "0") }) : fill(t.whole_hours, { h });
  }

  function delayText(n) {
    if (!n) return "";
    return n > 0 ? fill(t.late, { duration: duration(n) })
      : fill(t.early, { duration: duration(-n) });
  }

  /* « ★ Arrivée VIP : M. François Hollande — Ancien Président… (8 h 47) » */
  function vipText(v) {
    const what = v.function ? ` — ${v.function}` : "";
    const when = hm(Date.parse(v.checked_in_at));
    return fill(t.pair, { label: `★ ${t.vip_arrival}`, value: `${v.display_name}${what} (${when})` });
  }

  /* The organisers' pages announce a VIP's arrival at the welcome desk in #vip-alert. */
  function showVip(v) {
    const box = $("vip-alert");
    box.textContent = vipText(v);
    box.hidden = false;
  }

  /* A room screen or a kiosk tablet must not go to sleep during the day. Best effort:
     browsers grant the wake lock on https:// or localhost only, and drop it when the page
     is hidden, so it is asked for again whenever the page comes back. */
  function keepAwake() {
    if (!("wakeLock" in navigator)) return;
    const ask = () => navigator.wakeLock.request("screen").catch(() => {});
    ask();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") ask();
    });
  }

  /* Several server processes (kiosk serve --workers): while this page's process cannot
     reach the others' message queue, its commands reach only the screens connected to
     it; the organiser's page says so (#queue-down) until the server says it is back. */
  function followQueue(socket) {
    const banner = $("queue-down");
    socket.on("queue", (news) => { banner.hidden = news.up; });
    socket.on("disconnect", () => { banner.hidden = true; });  // the server will say again
  }

  return { $, boot, t, clock, hm, fill, el, request, toast, connect, followTimeline,
           duration, delayText, showVip, keepAwake, followQueue };
})();
