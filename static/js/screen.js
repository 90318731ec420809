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
  let served = boot.state;  // the server's last word, which the offline screen follows
  let online = false;
  let shown = "";

  function person(node, who) {
    if (who.role) {
      const role = who.display_name ? fill(t.label_colon, { label: who.role }) : who.role;
      node.append(el("span", "role", role));
    }
    if (who.display_name) node.append(el("span", "name", who.display_name));
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
    if (block.title) main.append(el("h1", "title", `« ${block.title} »`));
    for (const m of block.moderators) {
      const p = el("p", "moderator");
      p.append(el("span", "role", fill(t.label_colon, { label: m.role || t.moderator })));
      p.append(el("span", "name", m.display_name));
      if (m.function) p.append(el("span", "function", m.function));
      main.append(p);
    }
    if (!block.turns.length) return;
    const list = el("ol", "order");
    block.turns.forEach((turn, i) => {
      const item = person(el("li", "turn"), turn);
      if (s.turn_index !== null) {
        if (i < s.turn_index) item.classList.add("past");
        if (i === s.turn_index) {
          item.classList.add("current");
          item.setAttribute("aria-current", "true");
          item.prepend(el("span", "tag", `▶ ${t.at_lectern}`));
        }
      }
      list.append(item);
    });
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

  /* The largest font size (in px, between 8 and max) at which box does not overflow.
     A binary search: each try costs a layout, and a step-by-step shrink took a dozen. */
  function largestFitting(box, max) {
    const overflows = (size) => {
      box.style.fontSize = `${size}px`;
      return box.scrollHeight > box.clientHeight + 1;
    };
    if (!overflows(max)) return max;
    let low = 8;
    let high = max;
    for (let i = 0; i < 7; i++) {
      const middle = (low + high) / 2;
      if (overflows(middle)) high = middle;
      else low = middle;
    }
    box.style.fontSize = `${low}px`;
    return low;
  }

  /* Shrink the message, then the main area, until nothing overflows. */
  function fit() {
    if (!messageBox.hidden) largestFitting(messageBox, window.innerHeight * 0.046);
    largestFitting(main, Math.min(window.innerHeight * 0.06, window.innerWidth * 0.04));
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
    fit();
  }

  function key(s) {
    return JSON.stringify([s.version, s.phase, s.session && s.session.id, s.turn_index,
      s.next && s.next.id, s.message, s.delay_minutes, s.next && s.next.start]);
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
  }, (up) => {
    online = up;
    offline.hidden = up;
    document.body.dataset.online = up ? "yes" : "no";
  });
})();
