/* The room screen: renders the room's state, keeps the clock running, and fits the
   text to the screen so a long title never overflows, at any resolution. */
"use strict";

(() => {
  const { $, boot, t, clock, hm, fill, el, connect, followTimeline, delayText } = Kiosk;
  const main = $("main");
  const nextBox = $("next");
  const clockBox = $("clock");
  const messageBox = $("message");
  const offline = $("offline");
  const blackoutBox = $("blackout");
  const blackoutTitle = $("blackout-title");
  const progressBox = $("progress");
  const progressFill = $("progress-fill");
  let served = boot.state;  // the server's last word, which the offline screen follows
  let online = false;
  let shown = "";

  /* A turn of the running order: its role on a line of its own above the name (a turn
     without a speaker, « Débat avec la salle », shows its role as the name). */
  function person(node, who) {
    if (who.role) node.append(el("span", "role", who.role));
    if (who.display_name) node.append(el("span", "name", who.display_name));
    else node.classList.add("no-speaker");
    if (who.function) node.append(el("span", "function", who.function));
    return node;
  }

  function times(block) {
    return `${hm(Date.parse(block.start))} – ${hm(Date.parse(block.end))}`;
  }

  function nextLine(next, template) {
    const line = el("p", "next-line");
    line.append(el("span", "next-when", fill(template, { time: hm(Date.parse(next.start)) })));
    line.append(el("span", "next-what", next.title ? `${next.label} · ${next.title}` : next.label));
    if (next.planned_start && Date.parse(next.planned_start) !== Date.parse(next.start)) {
      line.append(el("span", "next-planned",
        fill(t.instead_of, { time: hm(Date.parse(next.planned_start)) })));
    }
    return line;
  }

  function renderSession(s) {
    const block = s.session;
    const head = el("p", "block-head");
    head.append(el("span", "label", block.label), el("span", "times", times(block)));
    const delay = delayText(s.delay_minutes);
    if (delay) head.append(el("span", "delay", delay));
    main.append(head);
    if (block.title) {
      const title = el("h1", "title", `« ${block.title} »`);
      const length = block.title.length;
      title.dataset.length = length <= 60 ? "short" : length <= 100 ? "medium" : "long";
      main.append(title);
    }
    for (const m of block.moderators) {
      const p = el("p", "moderator");
      p.append(el("span", "role", fill(t.label_colon, { label: m.role || t.moderator })));
      p.append(el("span", "name", m.display_name));
      if (m.function) p.append(el("span", "function", m.function));
      main.append(p);
    }
    if (!block.turns.length) return;
    const list = el("ol", "order");  // in one or two columns: fitSession() decides
    // The running order as it stands; a turn is past once it has been at the lectern,
    // whatever its place (the server says which: `done`).
    for (const turn of block.turns) {
      const item = person(el("li", "turn"), turn);
      item.dataset.turn = turn.id;
      if (turn.done) item.classList.add("past");
      if (s.speaker && turn.id === s.speaker.turn_id) {
        item.classList.add("current");
        item.setAttribute("aria-current", "true");
        item.prepend(el("span", "tag", `▶ ${t.at_lectern}`));
      }
      list.append(item);
    }
    main.append(list);
  }

  /* How a pause announces the block after it: a break (lunch) simply comes next, a
     session resumes the day if one has already been held, and otherwise starts it. */
  function announce(next) {
    if (next.kind === "break") return t.next_at;
    const start = Date.parse(next.planned_start || next.start);
    const held = boot.blocks.some((b) => b.kind !== "break" && Date.parse(b.end) <= start);
    return held ? t.resumes_at : t.starts_at;
  }

  function renderPause(s) {
    const box = el("div", "pause");
    if (s.phase === "before") {
      box.append(el("p", "big-word", t.welcome));
      if (s.next) box.append(nextLine(s.next, t.starts_at));
    } else if (s.phase === "after") {
      box.append(el("p", "big-word", t.thanks));
      box.append(el("p", "sub", t.day_over));
    } else {
      box.append(el("p", "big-word", s.session ? s.session.label : t.break));
      if (s.next) box.append(nextLine(s.next, announce(s.next)));
    }
    const delay = delayText(s.delay_minutes);
    if (delay && s.phase !== "after") box.append(el("p", "delay", delay));
    main.append(box);
  }

  /* A hundredth of the height of the largest 16:9 box the window holds: --u in the CSS. */
  const unit = () => Math.min(window.innerHeight, window.innerWidth * 0.5625) / 100;
  const overflows = (box) => box.scrollHeight > box.clientHeight + 1;

  /* The largest font size (px) between low and high at which box does not overflow, or
     low if even that overflows. A binary search: each try costs a layout. */
  function largestFitting(box, low, high) {
    const fits = (size) => {
      box.style.fontSize = `${size}px`;
      return !overflows(box);
    };
    if (fits(high)) return high;
    if (!fits(low)) return low;
    for (let i = 0; i < 7; i++) {
      const middle = (low + high) / 2;
      if (fits(middle)) low = middle;
      else high = middle;
    }
    box.style.fontSize = `${low}px`;
    return low;
  }

  /* A session: the size of a speaker's name, between 3.75u (40 px at 1080p, the smallest
     that reads from the back of the room) and 5.2u. The running order takes two columns
     from three turns on (the width is there, the height is not). Functions are shortened
     (three lines, then two, then one) before the names go below 4u. Only if nothing
     fits at the floor is the other number of columns tried, and then smaller type,
     rather than cutting the running order. */
  function fitSession(u) {
    const floor = 3.75 * u;
    const list = main.querySelector(".order");
    const turns = list.children.length;
    let best = null;
    for (const two of turns >= 3 ? [true, false] : [false, true]) {
      list.classList.toggle("two-columns", two);
      for (const level of ["0", "1", "2"]) {
        main.dataset.compact = level;
        const size = largestFitting(main, floor, 5.2 * u);
        if (overflows(main)) continue;
        if (size >= 4 * u) return;
        if (!best || size > best.size) best = { two, level, size };
      }
      if (best) break;
    }
    if (best) {
      list.classList.toggle("two-columns", best.two);
      main.dataset.compact = best.level;
      main.style.fontSize = `${best.size}px`;
    } else {
      list.classList.toggle("two-columns", turns >= 3);
      largestFitting(main, 8, floor);
    }
  }

  /* The message first takes its band (its type shrinks to fit there), then the main
     area takes what is left. */
  function fit() {
    const u = unit();
    if (!messageBox.hidden) largestFitting(messageBox, 2.6 * u, 4.2 * u);
    if (main.dataset.phase === "session" && main.querySelector(".order")) fitSession(u);
    else {
      delete main.dataset.compact;
      largestFitting(main, 8, 6 * u);
    }
  }

  function render(s) {
    main.replaceChildren();
    main.dataset.phase = s.phase;
    if (s.phase === "session" && s.session) renderSession(s);
    else renderPause(s);
    nextBox.replaceChildren();
    if (s.phase === "session" && s.next) nextBox.append(nextLine(s.next, t.next_at));
    messageBox.hidden = !s.message;
    messageBox.textContent = s.message ? `ℹ ${s.message}` : "";
    document.body.dataset.version = s.version;
    document.body.dataset.speaker = s.speaker ? s.speaker.name || s.speaker.role : "";
    // Blackout: black, or the event's title alone; the screen underneath keeps its
    // layout (hidden from sight, not from layout), so it comes back as it was.
    blackoutBox.hidden = !s.blackout;
    blackoutTitle.hidden = s.blackout !== "title";
    document.body.dataset.blackout = s.blackout || "";
    fit();
    showProgress(s);
  }

  /* The running turn's progress, a thin bar at the foot of the screen, on the
     organiser's request and only for a turn with a budget (nothing is guessed): elapsed
     over planned, the server's figures moved on by the synced clock. */
  function showProgress(s) {
    const timer = s.timer;
    const on = Boolean(s.progress && !s.blackout && s.phase === "session" && s.speaker
      && timer && timer.turn_id === s.speaker.turn_id && timer.ends_at !== null);
    progressBox.hidden = !on;
    document.body.dataset.progress = on ? "yes" : "no";
    if (!on) return;
    const total = 60 * (timer.planned_minutes + timer.extra_minutes);
    const remaining = timer.paused ? timer.remaining_seconds
      : (Date.parse(timer.ends_at) - clock.now()) / 1000;
    const share = total > 0 ? Math.min(1, Math.max(0, 1 - remaining / total)) : 1;
    progressFill.style.width = `${(share * 100).toFixed(2)}%`;
  }

  function key(s) {
    return JSON.stringify([s.version, s.phase, s.session, s.speaker && s.speaker.turn_id,
      s.next && s.next.id, s.message, s.delay_minutes, s.next && s.next.start, s.blackout,
      s.progress]);
  }

  function show(s) {
    const k = key(s);
    if (k !== shown) {
      shown = k;
      render(s);
    }
  }

  function tick() {
    clockBox.textContent = hm(clock.now());
    // While the link is down, an auto-mode screen keeps following the timetable (the
    // server's timeline is empty in manual mode: the organiser's choice holds).
    if (!online) show(followTimeline(served, boot.blocks, clock.now()));
    else showProgress(served);
  }

  clock.set(served);
  show(served);
  tick();
  setInterval(tick, 1000);
  window.addEventListener("resize", fit);
  Kiosk.keepAwake();
  connect([boot.room], (s) => {
    if (s.room !== boot.room) return;
    served = s;
    show(s);
    showProgress(s);  // the timer may have changed (held, extra time) and nothing else
  }, (up) => {
    online = up;
    offline.hidden = up;
    document.body.dataset.online = up ? "yes" : "no";
  });
})();
