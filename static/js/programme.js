/* The phone programme: the page is rendered by the server; this marks what is on now,
   shows the announced delay on every later block's times, and follows changes live. */
"use strict";

(() => {
  const { $, boot, t, hm, fill, el, connect, delayText } = Kiosk;
  const status = $("status");
  const offline = $("offline");
  const states = Object.assign({}, boot.states);
  let scrolled = false;

  function applyRoom(s) {
    const blocks = document.querySelectorAll(`.block[data-room="${CSS.escape(s.room)}"]`);
    for (const block of blocks) {
      const isNow = Boolean(s.session) && block.dataset.block === s.session.id;
      block.classList.toggle("now", isNow);
      block.querySelector(".now-badge").hidden = !isNow;
      follow(block, s);
      for (const turn of block.querySelectorAll("li[data-turn]")) {
        const speaking = isNow && Boolean(s.speaker) && s.speaker.turn_id === turn.dataset.turn;
        turn.classList.toggle("speaking", speaking);
        turn.querySelector(".speaking-badge").hidden = !speaking;
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
      if (isNow && !scrolled) {
        scrolled = true;
        const bar = document.querySelector(".live-bar").offsetHeight;
        window.scrollTo(0, block.getBoundingClientRect().top + window.scrollY - bar - 8);
      }
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
    if (edited) {
      fresh = el("ol", "turns");
      for (const turn of edited.turns) {
        const item = el("li");
        item.dataset.turn = turn.id;
        const badge = el("span", "badge speaking-badge", `▶ ${t.at_lectern}`);
        badge.hidden = true;
        item.append(badge);
        if (turn.role) item.append(el("span", "role", turn.role));
        if (turn.display_name) item.append(el("span", "who", turn.display_name));
        if (turn.display_name && turn.function) item.append(el("span", "function", turn.function));
        fresh.append(item);
      }
      if (!edited.turns.length) fresh = null;
    }
    if (list && fresh) list.replaceWith(fresh);
    else if (list) list.remove();
    else if (fresh) block.append(fresh);
    for (const [time, key] of [[block.querySelector("time[data-start]"), "start"],
                               [block.querySelector("time[data-end]"), "end"]]) {
      if (!time.dataset.served) time.dataset.served = time.dataset.planned;
      time.dataset.planned = edited ? hm(Date.parse(edited[key])) : time.dataset.served;
    }
  }

  function renderStatus() {
    status.replaceChildren();
    for (const room of boot.rooms) {
      const s = states[room];
      if (!s) continue;
      const line = el("span", "status-line");
      line.dataset.room = room;
      line.dataset.version = s.version;  // which change the line shows
      if (s.session) {
        line.append(el("strong", null, fill(t.pair, { label: t.in_progress,
                                                      value: s.session.label })));
        if (s.speaker) {
          line.append(document.createTextNode(" · "));
          line.append(el("span", null, s.speaker.display_name || s.speaker.role));
        }
      } else if (s.next) {
        line.append(el("span", null,
          fill(t.pair, { label: fill(t.next_at, { time: hm(Date.parse(s.next.start)) }),
                         value: s.next.label })));
      } else if (s.phase === "after") {
        line.append(el("span", null, t.day_over));
      }
      const delay = delayText(s.delay_minutes);
      if (delay) line.append(el("span", "delay", ` · ${delay}`));
      if (s.message) line.append(el("span", "message", s.message));
      status.append(line);
    }
  }

  function show(s) {
    states[s.room] = s;
    renderStatus();  // first: the bar's height decides where the current block scrolls to
    applyRoom(s);
  }

  /* An event over several days: one tab per day, the page opening on today's (or the
     next day that has blocks). Without the script every day is listed, each under its
     heading. */
  const tabs = [...document.querySelectorAll(".day-tab")];
  function showDay(day) {
    for (const node of document.querySelectorAll(".prog [data-day]")) {
      node.hidden = node.dataset.day !== day;
    }
    for (const tab of tabs) {
      if (tab.dataset.day === day) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
  }
  if (tabs.length) {
    Kiosk.clock.set(states[boot.rooms[0]]);  // the event's clock (a simulated one too)
    const days = tabs.map((tab) => tab.dataset.day);
    const today = new Intl.DateTimeFormat("en-CA", {
      timeZone: boot.timezone, year: "numeric", month: "2-digit", day: "2-digit",
    }).format(Kiosk.clock.now());
    const asked = location.hash.startsWith("#day-") ? location.hash.slice(5) : null;
    showDay(days.includes(asked) ? asked : days.find((d) => d >= today) || days[days.length - 1]);
    for (const tab of tabs) {
      tab.addEventListener("click", (event) => {
        event.preventDefault();
        showDay(tab.dataset.day);
        history.replaceState(null, "", tab.getAttribute("href"));
        window.scrollTo(0, 0);
      });
    }
  }

  for (const room of boot.rooms) if (states[room]) show(states[room]);
  connect(boot.rooms, show, (up) => {
    offline.hidden = up;
    document.body.dataset.online = up ? "yes" : "no";
  });
})();
