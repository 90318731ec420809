/* The phone programme. The server renders « Maintenant » from the rooms' states and a
   screenful of the day's list; this keeps both live over the socket, answers the room
   filter and the search at once (the day's blocks fetched once from /api/schedule, only
   when the user scrolls, filters or searches), and loads more of the list as the user
   scrolls. Without it, the page and its form work as they are. */
"use strict";

(() => {
  const { $, boot, t, hm, fill, el, connect, delayText } = Kiosk;
  const p = JSON.parse($("programme-i18n").textContent);
  const lang = boot.locale || document.documentElement.lang || "fr";
  const states = {};
  const list = $("list");
  const finder = $("finder");
  const query = $("q");
  const roomSelect = $("room");
  const found = $("found");
  const later = $("later");
  const earlier = $("earlier");
  const CHUNK = 24;  // blocks added at a time, as the server's first screenful

  /* Text as a search compares it; kiosk/programme.py's fold(), on the same examples. */
  function fold(text) {
    if (!text) return "";
    return text.replace(/[’‘ʼ′]/g, "'").normalize("NFKD").replace(/\p{M}/gu, "")
      .toLowerCase().replace(/œ/g, "oe").replace(/æ/g, "ae").replace(/ß/g, "ss");
  }

  Kiosk.fold = fold;  // tests/test_browser_programme.py compares it with the server's

  function plural(key, n) {
    const form = new Intl.PluralRules(lang).select(n) === "one" ? "one" : "other";
    return fill(p[`${key}_${form}`], { n });
  }

  const what = (b) => (b.title ? `${b.label} « ${b.title} »` : b.label);

  /* --- « Maintenant »: one line per room, and the small bar of announcements --------- */

  function nowLine(s) {
    const line = el("li", "status-line");
    line.dataset.room = s.room;
    line.dataset.version = s.version;  // which change the line shows
    const head = el("p", "nr-head");
    if (boot.rooms.length > 1) {
      const name = el("a", "nr-room", s.room_name);
      name.href = `${location.pathname}?room=${encodeURIComponent(s.room)}#list-title`;
      name.dataset.filter = s.room;
      head.append(name);
    }
    const delay = delayText(s.delay_minutes);
    if (delay) head.append(" ", el("span", "delay", delay));
    line.append(head);
    let now = null;
    if (s.pause) now = t.break;
    else if (s.session) {
      const current = el("p", "nr-now");
      current.append(el("strong", null, s.session.label));
      if (s.session.title) current.append(` « ${s.session.title} »`);
      line.append(current);
    } else if (s.phase === "after") now = t.day_over;
    else if (s.phase === "break") now = t.break;
    if (now) line.append(el("p", "nr-now", now));
    if (s.speaker) {
      const who = el("p", "nr-speaker", "▶ ");
      who.append(el("span", "who", s.speaker.display_name || s.speaker.role));
      if (s.speaker.display_name && s.speaker.function) {
        who.append(" ", el("span", "function", s.speaker.function));
      }
      line.append(who);
    }
    if (s.next) {
      const time = hm(Date.parse(s.next.start));
      const label = fill(s.phase === "before" ? t.starts_at : t.next_at, { time });
      line.append(el("p", "nr-next", fill(t.pair, { label, value: what(s.next) })));
    }
    if (s.message) line.append(el("p", "nr-message", s.message));
    return line;
  }

  function renderBar() {
    const told = boot.rooms.map((r) => states[r]).filter((s) => s && (s.delay_minutes || s.message));
    const lines = $("bar-lines");
    lines.replaceChildren();
    for (const s of told.slice(0, 3)) {
      const line = el("p", "bar-line");
      line.dataset.room = s.room;
      line.append(el("strong", null, s.room_name));
      const delay = delayText(s.delay_minutes);
      if (delay) line.append(" · ", el("span", "delay", delay));
      if (s.message) line.append(" · ", el("span", "message", s.message));
      lines.append(line);
    }
    if (told.length > 3) {
      const more = el("p", "bar-line bar-more");
      const link = el("a", null, plural("more_rooms", told.length - 3));
      link.href = "#maintenant";
      more.append(link);
      lines.append(more);
    }
    $("live-bar").hidden = !told.length && $("offline").hidden;
  }

  /* --- the blocks of the list --------------------------------------------------------- */

  function person(parent, who) {
    if (!who || !who.display_name) return;
    parent.append(el("span", "who", who.display_name));
    if (who.function) parent.append(el("span", "function", who.function));
  }

  /* A block as templates/programme.html renders it, from /api/schedule's shape. */
  function card(b) {
    const block = el("section", `block kind-${b.kind}`);
    block.id = `block-${b.id}`;
    block.dataset.block = b.id;
    block.dataset.room = b.room;
    block.dataset.day = boot.day;
    const times = el("p", "times");
    for (const key of ["start", "end"]) {
      const time = el("time", null, hm(Date.parse(b[key])));
      time.dataset[key] = b[key];
      time.dataset.planned = time.textContent;
      if (key === "end") times.append("–");
      times.append(time);
    }
    if (boot.rooms.length > 1) times.append(" ", el("span", "room", boot.room_names[b.room]));
    block.append(times);
    const title = el("h3");
    title.append(el("span", "label", b.label));
    if (b.title) title.append(" ", el("span", "title", `« ${b.title} »`));
    block.append(title);
    if (b.description) block.append(el("p", "description", b.description));
    for (const m of b.moderators) {
      const line = el("p", "moderator");
      line.append(el("span", "role", fill(t.label_colon, { label: m.role || t.moderator })), " ");
      person(line, m);
      block.append(line);
    }
    const heard = b.turns.filter((turn) => !turn.cancelled);
    if (heard.length) block.append(turns(heard));
    return block;
  }

  function turns(heard) {
    const ol = el("ol", "turns");
    for (const turn of heard) {
      const item = el("li");
      item.dataset.turn = turn.id;
      if (turn.role) item.append(el("span", "role", turn.role));
      person(item, turn);
      ol.append(item);
    }
    return ol;
  }

  /* The block on now, the speaker at the lectern, the times the delay moves. */
  function applyBlock(block, s) {
    const isNow = Boolean(s.session) && block.dataset.block === s.session.id;
    block.classList.toggle("now", isNow);
    let badge = block.querySelector(".now-badge");
    if (isNow && !badge) {
      badge = el("span", "badge now-badge", `● ${t.in_progress}`);
      block.querySelector(".times").append(" ", badge);
    } else if (!isNow && badge) badge.remove();
    follow(block, s);
    for (const turn of block.querySelectorAll("li[data-turn]")) {
      const speaking = isNow && Boolean(s.speaker) && s.speaker.turn_id === turn.dataset.turn;
      turn.classList.toggle("speaking", speaking);
      const mark = turn.querySelector(".speaking-badge");
      if (speaking && !mark) turn.prepend(el("span", "badge speaking-badge", `▶ ${t.at_lectern}`));
      else if (!speaking && mark) mark.remove();
      if (speaking) turn.setAttribute("aria-current", "true");
      else turn.removeAttribute("aria-current");
    }
    // Later blocks move with the announced delay, start and end (the server projects
    // them); the printed time stays visible in the title.
    const moved = s.projected[block.dataset.block];
    for (const [time, key] of [[block.querySelector("time[data-start]"), "start"],
                               [block.querySelector("time[data-end]"), "end"]]) {
      time.textContent = moved ? hm(Date.parse(moved[key])) : time.dataset.planned;
      time.classList.toggle("moved", Boolean(moved));
      time.title = moved ? fill(t.instead_of, { time: time.dataset.planned }) : "";
    }
  }

  /* The running order as the organisers edit it on the day: a block the state lists in
     `edited` is drawn from it; one that is no longer edited (an undo) goes back to print:
     the page's own list, or the print the server sent for blocks edited before. */
  const served = new Map();  // block id -> its list as the page was served
  function follow(block, s) {
    const id = block.dataset.block;
    const edited = s.edited[id] || boot.printed[id];
    const list = block.querySelector("ol.turns");
    if (!served.has(id)) served.set(id, list ? list.cloneNode(true) : null);
    const drawn = block.dataset.drawn || "";
    const wanted = edited ? JSON.stringify([edited.turns, edited.start, edited.end]) : "";
    if (drawn === wanted) return;
    block.dataset.drawn = wanted;
    let fresh = served.get(id) ? served.get(id).cloneNode(true) : null;
    if (edited) fresh = edited.turns.length ? turns(edited.turns) : null;
    if (list && fresh) list.replaceWith(fresh);
    else if (list) list.remove();
    else if (fresh) block.append(fresh);
    for (const [time, key] of [[block.querySelector("time[data-start]"), "start"],
                               [block.querySelector("time[data-end]"), "end"]]) {
      if (!time.dataset.served) time.dataset.served = time.dataset.planned;
      time.dataset.planned = edited ? hm(Date.parse(edited[key])) : time.dataset.served;
    }
  }

  function applyRoom(s, root = document) {
    for (const block of root.querySelectorAll(`.block[data-room="${CSS.escape(s.room)}"]`)) {
      applyBlock(block, s);
    }
  }

  function show(s) {
    states[s.room] = s;
    const old = document.querySelector(`#now-rooms [data-room="${CSS.escape(s.room)}"]`);
    if (old) old.replaceWith(nowLine(s));
    renderBar();
    applyRoom(s);
  }

  /* --- the day's blocks, fetched once when first needed ------------------------------- */

  let day = null;
  function theDay() {
    if (!day) {
      const rank = Object.fromEntries(boot.rooms.map((r, n) => [r, n]));
      day = fetch("/api/schedule", { credentials: "same-origin" })
        .then((r) => r.json())
        .then((data) => data.blocks
          .filter((b) => b.date === boot.day)
          .map((b) => Object.assign(b, {
            at: Date.parse(b.start),
            words: fold([b.label, b.title,
              ...b.moderators.flatMap((m) => [m.display_name, m.function]),
              ...b.turns.flatMap((turn) => [turn.role, turn.display_name, turn.function])]
              .filter(Boolean).join(" ")),
          }))
          .sort((a, b) => a.at - b.at || rank[a.room] - rank[b.room]
                          || Date.parse(a.end) - Date.parse(b.end)));
    }
    return day;
  }

  function append(blocks) {
    const fragment = document.createDocumentFragment();
    for (const b of blocks) fragment.append(card(b));
    for (const s of Object.values(states)) applyRoom(s, fragment);
    list.append(fragment);
  }

  /* What is left to show, a chunk at a time as the user scrolls: the rest of the day
     after the server's screenful, or the rest of the results. */
  let pending = [];
  function more() {
    let n = Math.min(CHUNK, pending.length);
    // never cut between rooms starting at the same time
    while (n < pending.length && pending[n].at === pending[n - 1].at) n += 1;
    append(pending.slice(0, n));
    pending = pending.slice(n);
    if (later) later.parentNode.hidden = !pending.length;
  }

  let started = false;  // the server's screenful replaced by the script's own list
  async function scrolledDown() {
    const blocks = await theDay();
    if (!started) {
      started = true;
      const room = roomSelect ? roomSelect.value : "";
      const last = Math.max(...[...list.querySelectorAll("time[data-start]")]
        .map((time) => Date.parse(time.dataset.start)));
      pending = blocks.filter((b) => b.at > last && (!room || b.room === room));
    }
    more();
  }

  /* Below the list: more of it comes as the user scrolls there (or taps « Plus tard »). */
  const sentinel = el("div", "sentinel");
  list.after(sentinel);
  new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    if (!started && later && !boot.whole) scrolledDown();
    else if (started && pending.length) more();
  }, { rootMargin: "600px" }).observe(sentinel);
  if (later) {
    later.addEventListener("click", (event) => {
      event.preventDefault();
      scrolledDown();
    });
  }

  /* --- filter and search, at once, without reload ------------------------------------ */

  async function search() {
    const words = fold(query.value).split(/\s+/).filter(Boolean);
    const room = roomSelect ? roomSelect.value : "";
    const params = new URLSearchParams(location.search);
    for (const [key, value] of [["q", query.value.trim()], ["room", room]]) {
      if (value) params.set(key, value);
      else params.delete(key);
    }
    params.delete("from");
    const address = params.toString();
    history.replaceState(null, "", `${location.pathname}${address ? "?" : ""}${address}`);
    const blocks = await theDay();
    started = true;
    if (earlier) earlier.parentNode.hidden = true;
    list.replaceChildren();
    if (words.length) {
      pending = blocks.filter((b) => (!room || b.room === room)
                                     && words.every((w) => b.words.includes(w)));
      found.textContent = pending.length ? plural("results", pending.length) : p.no_result;
    } else {
      // the list from now, as the page opens, in that room
      const now = Kiosk.clock.now();
      const all = blocks.filter((b) => !room || b.room === room);
      const coming = all.filter((b) => Date.parse(b.end) > now);
      pending = coming.length ? coming : all;
      found.textContent = "";
    }
    more();
  }

  /* A room's name in « Maintenant » opens that room's day in the list, at once. */
  $("now-rooms").addEventListener("click", (event) => {
    const name = event.target.closest("a.nr-room");
    if (!name || !roomSelect) return;
    event.preventDefault();
    roomSelect.value = name.dataset.filter;
    query.value = "";
    search().then(() => $("list-title").scrollIntoView());
  });

  let typing = null;
  query.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(search, 150);
  });
  if (roomSelect) roomSelect.addEventListener("change", search);
  finder.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    search();
  });

  // Interactive: the form answers and the list scrolls; « Maintenant » is as the server
  // rendered it a moment ago. Live once every room's state has come over the socket.
  // Socket.IO's client (46 KB of script to run) waits until then: on a mid-range phone
  // running it, its handshake and the join took as long again as the page itself.
  document.body.dataset.ready = "yes";
  function goLive() {
    connect(boot.rooms, (s) => {
      show(s);
      if (!document.body.dataset.live && boot.rooms.every((r) => states[r])) {
        document.body.dataset.live = "yes";
      }
    }, (up) => {
      $("offline").hidden = up;
      renderBar();
      document.body.dataset.online = up ? "yes" : "no";
    });
  }
  const client = document.createElement("script");
  client.src = $("socketio").href;  // preloaded with the page
  client.addEventListener("load", goLive);
  document.head.append(client);
})();
