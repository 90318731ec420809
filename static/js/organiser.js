/* The organiser's tablet: big buttons that send commands to the JSON API (with the
   state version they were issued against, so a double tap never skips two speakers),
   and a view of every room kept live over the socket: the running order as it stands
   (edited on the day, from any tablet), the turn's countdown, the screens' controls. */
"use strict";

(() => {
  const { $, boot, t, clock, hm, fill, el, request, toast, connect, duration, delayText } = Kiosk;
  const say = (text, kind) => toast(text, kind, 6);  // each answer clears after 6 s
  const states = Object.assign({}, boot.states);
  // The room named in the address (a tile of the board), else the one this tablet
  // steered last, else the first.
  let room = new URLSearchParams(location.search).get("room");
  if (boot.rooms.includes(room)) localStorage.setItem("kiosk-room", room);
  else room = localStorage.getItem("kiosk-room");
  if (!boot.rooms.includes(room)) room = boot.rooms[0];
  let online = false;
  let busy = false;
  let editing = false;  // « Modifier l'ordre »: the per-turn controls are shown
  let form = null;  // the open edit form: {mode, block, turn}
  let shownOrder = "";  // what the running order was last drawn from
  let shownHeld = "";  // the block the list was last scrolled to
  // The edit form moves under what it edits, in and out of the list that is redrawn.
  const formNode = $("edit-form");

  /* A double tap must not step twice. Each command carries the version it was issued
     against, but the pushed state reaches the tablet within milliseconds, so a second
     tap 40-250 ms later carried the new version and was accepted. The command buttons
     stay disabled until the answer is in and the new state shown, then a little longer. */
  const GUARD_MS = 600;
  const COMMAND_BUTTONS = "button[data-action], button[data-delay], button[data-goto], " +
    "button[data-cmd], button[data-blackout], button[data-stage], button[data-pause-minutes], " +
    "#progress, #apply-delay, form.command button[type=submit]";
  function hold(on) {
    busy = on;
    document.body.classList.toggle("busy", on);
    for (const button of document.querySelectorAll(COMMAND_BUTTONS)) button.disabled = on;
  }

  /* The HTTP answer to a command and the socket's push can cross: keep the newest. After
     a reconnection the server's word is taken as it is (its database may have changed). */
  let resync = new Set();
  function accept(s) {
    const known = states[s.room];
    if (!known || resync.delete(s.room) || s.version >= known.version) states[s.room] = s;
  }

  /* « 14:30 » in the event's zone, as a time input and the API want it. */
  const hhmmParts = new Intl.DateTimeFormat("en-GB", {
    timeZone: boot.timezone || "Europe/Paris", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23",
  });
  function hhmm(moment) {
    const p = {};
    for (const part of hhmmParts.formatToParts(new Date(moment))) p[part.type] = part.value;
    return `${p.hour}:${p.minute}`;
  }

  /* 7:05 left (counted down to the second), or +1:20 in overtime. */
  function mmss(seconds) {
    const whole = seconds < 0 ? Math.floor(-seconds) : Math.ceil(seconds);
    const text = `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
    return seconds < 0 ? `+${text}` : text;
  }

  const who = (turn) => (turn ? turn.display_name || turn.role || "" : "");

  /* The room's blocks as they stand: a block the day edited as the state carries it,
     else as printed (the page's boot data, in the same shape). */
  function blocksOf(s) {
    return (boot.printed[s.room] || []).map((b) => s.edited[b.id] || b);
  }
  function blockOf(s, id) {
    return blocksOf(s).find((b) => b.id === id);
  }

  // --- the now-card: who is at the lectern, the countdown, the projection -------------

  function renderNow(s) {
    $("mode").textContent = s.mode === "auto" ? `● ${t.mode_auto}` : `■ ${t.mode_manual}`;
    $("mode").dataset.mode = s.mode;
    const drift = $("drift");
    drift.hidden = !s.drift_minutes;
    drift.textContent = s.drift_minutes > 0
      ? `⚠ ${fill(t.drift_late, { duration: duration(s.drift_minutes) })}`
      : `⚠ ${fill(t.drift_early, { duration: duration(-s.drift_minutes) })}`;
    $("now-session").textContent = s.session
      ? `${s.session.label}${s.session.title ? " · " + s.session.title : ""}`
      // what the room's screen shows: welcome before the day, thanks after, else a pause
      : ({ before: t.welcome, after: t.day_over }[s.phase] || t.break);
    const speaker = $("now-speaker");
    speaker.dataset.empty = s.speaker ? "no" : "yes";
    speaker.hidden = Boolean(s.pause);  // the pause says it all
    if (s.speaker) {
      speaker.textContent = `▶ ${[s.speaker.role, s.speaker.display_name].filter(Boolean).join(" · ")}`;
    } else if (s.mode === "manual" && s.session && s.session.turns.length && !s.pause) {
      speaker.textContent = t.session_open;
    } else {
      speaker.textContent = t.nobody;
    }
    const pause = $("now-pause");
    pause.hidden = !s.pause;
    if (s.pause) {
      pause.textContent = `☕ ${fill(t.pause_until, { time: hm(Date.parse(s.pause.until)) })} · ${t.next_resumes}`;
    }
    $("now-card").dataset.paused = s.pause ? "yes" : "no";
    $("timer").hidden = !s.timer;
    if (s.timer) {
      $("hold").hidden = s.timer.paused;
      $("resume").hidden = !s.timer.paused;
    }
    renderProjection(s);
    $("now-next").textContent = s.next
      ? fill(t.pair, {
        label: fill(t.next_at, { time: hm(Date.parse(s.next.start)) }), value: s.next.label,
      })
      : "";
    tick();
  }

  /* How far the server's projection has slid since it was sent: a turn in overtime
     pushes everything after it, a paused timer too (the server re-sends each minute). */
  function slide(s) {
    const timer = s.timer;
    if (!timer || timer.ends_at === null) return 0;
    const sent = Date.parse(s.server_time);
    if (timer.paused) return Math.max(0, clock.now() - sent);
    return Math.max(0, clock.now() - Math.max(sent, Date.parse(timer.ends_at)));
  }

  function renderProjection(s) {
    const p = s.projection;
    $("projection").hidden = !p;
    if (!p) return;
    const shift = slide(s);
    const blockEnd = Date.parse(p.block_end) + shift;
    const last = p.block_planned_end === p.day_planned_end;
    const dayEnd = last ? blockEnd : Date.parse(p.day_end);
    const line = (id, template, end, planned) => {
      const node = $(id);
      node.replaceChildren(el("span", "when", fill(template, { time: hm(end) })));
      if (hm(end) !== hm(Date.parse(planned))) {
        node.append(el("span", "planned", ` (${fill(t.instead_of, { time: hm(Date.parse(planned)) })})`));
      }
      node.classList.toggle("late", end > Date.parse(planned) + 59_000);
    };
    line("block-end", t.block_ends, blockEnd, p.block_planned_end);
    line("day-end", t.day_ends, dayEnd, p.day_planned_end);
    const apply = $("apply-delay");
    apply.hidden = p.delay_minutes === s.delay_minutes;
    apply.dataset.minutes = p.delay_minutes;
    apply.textContent = p.delay_minutes
      ? `➜ ${fill(t.apply_delay, { duration: duration(p.delay_minutes) })}`
      : `➜ ${t.apply_on_time}`;
  }

  /* The countdown, redrawn four times a second from the clock synced to the server. */
  function tick() {
    $("clock").textContent = hm(clock.now());
    const s = states[room];
    if (!s || !s.timer) return;
    const timer = s.timer;
    const box = $("countdown");
    const since = (clock.now() - Date.parse(s.server_time)) / 1000;
    let kind = "elapsed";
    if (timer.ends_at !== null) {
      const left = timer.paused ? timer.remaining_seconds
        : (Date.parse(timer.ends_at) - clock.now()) / 1000;
      box.textContent = mmss(left);
      kind = left < 0 ? "over" : left <= timer.warning_seconds ? "warning" : "running";
    } else {
      box.textContent = mmss(timer.elapsed_seconds + (timer.paused ? 0 : since));
    }
    box.dataset.kind = kind;
    box.dataset.paused = timer.paused ? "yes" : "no";
    const notes = [];
    if (timer.paused) notes.push(`❚❚ ${t.timer_paused}`);
    if (kind === "over") notes.push(t.overtime);
    if (timer.planned_minutes === null) notes.push(t.no_budget);
    else notes.push(fill(t.budget_of, { duration: duration(timer.planned_minutes) }));
    if (timer.extra_minutes) notes.push(fill(t.extra_given, { n: timer.extra_minutes }));
    $("timer-note").textContent = notes.join(" · ");
    if (s.projection) renderProjection(s);
  }

  // --- the running order --------------------------------------------------------------

  const BADGES = {
    inserted: "badge_inserted", moved: "badge_moved", cancelled: "badge_cancelled",
    civility: "badge_corrected", name: "badge_corrected", function: "badge_corrected",
    role: "badge_corrected", minutes: "badge_minutes",
  };

  function badges(node, changes) {
    const seen = new Set();
    for (const change of changes) {
      const key = BADGES[change] || "badge_corrected";
      if (seen.has(key)) continue;
      seen.add(key);
      node.append(el("span", `flag flag-${change}`, t[key]));
    }
  }

  function button(className, text, data) {
    const node = el("button", className, text);
    node.type = "button";
    Object.assign(node.dataset, data);
    return node;
  }

  function turnRow(s, block, turn, index) {
    const current = s.speaker && s.speaker.turn_id === turn.id && s.session &&
      s.session.id === block.id;
    const done = !current && s.done.includes(turn.id);
    const row = el("div", "o-row");
    row.dataset.turnId = turn.id;
    const go = button("o-turn", undefined, { goto: block.id, turn: turn.id });
    if (turn.cancelled) {
      go.classList.add("cancelled");
      go.dataset.cancelled = "yes";
    }
    if (current) {
      go.classList.add("current");
      go.setAttribute("aria-current", "true");
      go.append(el("span", "status", `▶ ${t.at_lectern}`));
    } else if (done) {
      go.classList.add("done");
      go.append(el("span", "status", `✓ ${t.heard}`));
    }
    if (turn.role) go.append(el("span", "role", turn.role));
    if (turn.display_name) go.append(el("span", "who", turn.display_name));
    const meta = el("span", "meta");
    if (turn.budget !== null) meta.append(el("span", "minutes", `◷ ${fill(t.minutes, { n: turn.budget })}`));
    badges(meta, turn.changes);
    if (meta.childNodes.length) go.append(meta);
    row.append(go);
    if (editing) {
      const tools = el("div", "o-tools");
      const up = button("up", "↑", { cmd: "up" });
      up.setAttribute("aria-label", t.move_up);
      up.title = t.move_up;
      const down = button("down", "↓", { cmd: "down" });
      down.setAttribute("aria-label", t.move_down);
      down.title = t.move_down;
      if (index === 0) up.classList.add("ghost");
      if (index === block.turns.length - 1) down.classList.add("ghost");
      tools.append(up, down,
        button("correct", `✎ ${t.correct}`, { open: "correct" }),
        button("budget", `◷ ${t.budget}`, { open: "budget" }));
      // The turn at the lectern cannot be cancelled (the server refuses): no such button.
      if (turn.cancelled) tools.append(button("restore", `↺ ${t.restore}`, { cmd: "restore" }));
      else if (!current) tools.append(button("cancel", `✕ ${t.cancel_turn}`, { cmd: "cancel" }));
      row.append(tools);
    }
    return row;
  }

  /* An event over several days: a heading before each day's first block. */
  const dayName = new Intl.DateTimeFormat(boot.locale, {
    weekday: "long", day: "numeric", month: "long", timeZone: "UTC",
  });
  function withDays(nodes, blocks) {
    if (new Set(blocks.map((b) => b.date)).size < 2) return nodes;
    const out = [];
    blocks.forEach((block, i) => {
      if (i === 0 || blocks[i - 1].date !== block.date) {
        const head = el("h3", "o-day", dayName.format(Date.parse(block.date)));
        head.dataset.day = block.date;
        out.push(head);
      }
      out.push(nodes[i]);
    });
    return out;
  }

  function blockNode(s, block) {
    const box = el("div", `o-block kind-${block.kind}`);
    box.dataset.block = block.id;
    box.dataset.room = block.room;
    const isNow = Boolean(s.session) && s.session.id === block.id;
    box.classList.toggle("now", isNow);
    const head = button("o-head", undefined, { goto: block.id });
    // The server says which starts the announced delay moves, and where to.
    const moved = s.projected[block.id];
    const time = el("time", moved ? "moved" : "", hm(Date.parse(moved ? moved.start : block.start)));
    time.dataset.start = block.start;
    head.append(time, el("span", "end", `– ${hm(Date.parse(moved ? moved.end : block.end))}`),
      el("span", "label", block.label));
    const retimed = Date.parse(block.start) !== Date.parse(block.planned_start) ||
      Date.parse(block.end) !== Date.parse(block.planned_end);
    if (retimed) {
      head.append(el("span", "flag flag-times", fill(t.instead_of, {
        time: `${hm(Date.parse(block.planned_start))} – ${hm(Date.parse(block.planned_end))}`,
      })));
    }
    if (isNow && !s.speaker && block.turns.length && s.mode === "manual" && !s.pause) {
      head.append(el("span", "status", `▶ ${t.session_open}`));
    }
    if (block.title) head.append(el("span", "title", block.title));
    box.append(head);
    if (editing) {
      const tools = el("div", "o-tools block-tools");
      tools.dataset.block = block.id;
      if (block.kind !== "break") tools.append(button("insert", `✚ ${t.add_turn}`, { open: "insert" }));
      tools.append(button("times", t.times, { open: "times" }));
      if (block.turns.length) {
        const per = block.turn_minutes ? ` (${fill(t.minutes, { n: block.turn_minutes })})` : "";
        tools.append(button("block-budget", `◷ ${t.turn_budgets}${per}`, { open: "block-budget" }));
      }
      box.append(tools);
    }
    block.turns.forEach((turn, i) => box.append(turnRow(s, block, turn, i)));
    return box;
  }

  function renderOrder(s) {
    const blocks = blocksOf(s);
    const current = s.speaker ? s.speaker.turn_id : null;
    const key = JSON.stringify([s.room, blocks, s.done, current, s.session && s.session.id,
      s.projected, s.mode, Boolean(s.pause), editing]);
    if (key === shownOrder) return;
    shownOrder = key;
    $("order-list").replaceChildren(...withDays(blocks.map((b) => blockNode(s, b)), blocks));
    // Drawn while a command is out: its buttons wait like the others (the double tap).
    if (busy) for (const node of $("order-list").querySelectorAll(COMMAND_BUTTONS)) node.disabled = true;
    placeForm();
    // Keep the block being held in sight when it changes (the organiser may have
    // scrolled elsewhere meanwhile: not on every redraw).
    // Between blocks, the one coming: an event over several days opens on today's.
    const held = `${s.room} ${s.session ? s.session.id : ""} ${s.next ? s.next.id : ""}`;
    if (held !== shownHeld) {
      shownHeld = held;
      const now = $("order-list").querySelector(".o-block.now")
        || (s.next && $("order-list").querySelector(`.o-block[data-block="${CSS.escape(s.next.id)}"]`));
      const column = $("order-list").closest(".order");
      const bar = $("edit-bar").hidden ? 0 : $("edit-bar").offsetHeight;
      if (now) column.scrollTop = now.offsetTop - column.offsetTop - bar - 8;
    }
  }

  // --- the edit form (insert, correct, budgets, times), under what it edits -----------

  function placeForm() {
    const node = formNode;
    if (!form) {
      node.hidden = true;
      return;
    }
    const list = $("order-list");
    const anchor = form.turn
      ? list.querySelector(`.o-row[data-turn-id="${CSS.escape(form.turn)}"]`)
      : list.querySelector(`.o-block[data-block="${CSS.escape(form.block)}"] .o-tools`);
    if (!anchor || !editing) {
      closeForm();
      return;
    }
    anchor.after(node);
    node.hidden = false;
  }

  function closeForm() {
    form = null;
    const node = formNode;
    node.hidden = true;
    $("tablet").querySelector(".order").append(node);
  }

  const SAVE_LABELS = {
    insert: "add", correct: "save", budget: "this_turn", "block-budget": "whole_session",
    times: "save",
  };

  function openForm(mode, blockId, turnId) {
    const s = states[room];
    const block = blockOf(s, blockId);
    const turn = turnId ? block.turns.find((x) => x.id === turnId) : null;
    form = { mode, block: blockId, turn: turnId };
    const node = formNode;
    const f = node.elements;
    node.dataset.mode = mode;
    for (const part of node.querySelectorAll("[data-modes]")) {
      part.hidden = !part.dataset.modes.split(" ").includes(mode);
    }
    for (const input of node.querySelectorAll("input, select")) {
      input.value = "";
      input.removeAttribute("aria-invalid");
    }
    const titles = {
      insert: fill(t.form_insert, { block: block.label }),
      correct: fill(t.form_correct, { who: who(turn) }),
      budget: fill(t.form_budget, { who: who(turn) }),
      "block-budget": fill(t.form_block_budget, { block: block.label }),
      times: fill(t.form_times, { block: block.label }),
    };
    $("form-title").textContent = titles[mode];
    node.querySelector("button.save").textContent = t[SAVE_LABELS[mode]];
    if (mode === "correct") {
      for (const name of ["civility", "name", "function", "role"]) f[name].value = turn[name] || "";
    } else if (mode === "budget") {
      f.minutes.value = turn.budget ?? "";
    } else if (mode === "block-budget") {
      f.minutes.value = block.turn_minutes ?? "";
    } else if (mode === "times") {
      f.start.value = hhmm(Date.parse(block.start));
      f.end.value = hhmm(Date.parse(block.end));
    } else if (mode === "insert") {
      const places = block.turns.map((x) => {
        const option = el("option", "", fill(t.before_turn, { who: who(x) }));
        option.value = x.id;
        return option;
      });
      const end = el("option", "", t.at_the_end);
      end.value = "";
      f.before.replaceChildren(...places, end);
      f.before.value = "";
    }
    placeForm();
    const first = node.querySelector("[data-modes]:not([hidden]) input");
    if (first) first.focus();
    node.scrollIntoView({ block: "nearest" });
  }

  formNode.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form) return;
    const which = event.submitter ? event.submitter.dataset.submit : "save";
    const f = formNode.elements;
    const text = (name) => f[name].value.trim() || null;
    const minutes = f.minutes.value === "" ? null : Number(f.minutes.value);
    const person = () => ({
      civility: text("civility"), name: text("name"), function: text("function"),
      role: text("role"),
    });
    let action;
    let body;
    if (form.mode === "insert") {
      action = "insert";
      body = Object.assign({ session: form.block }, person(),
        { minutes, before: f.before.value || null });
    } else if (form.mode === "correct") {
      action = "update";
      body = Object.assign({ turn: form.turn }, person());
    } else if (form.mode === "budget" && which === "rest") {
      action = "budget";
      body = { session: form.block, minutes, from: form.turn };
    } else if (form.mode === "budget") {
      action = "update";
      body = { turn: form.turn, minutes };
    } else if (form.mode === "block-budget") {
      action = "budget";
      body = { session: form.block, minutes };
    } else {
      action = "times";
      body = { session: form.block, start: f.start.value, end: f.end.value };
    }
    send(action, body, true).then((answer) => {
      if (answer.ok) {
        closeForm();
      } else if (answer.field && f[answer.field]) {
        f[answer.field].setAttribute("aria-invalid", "true");
        f[answer.field].focus();
      }
    });
  });

  function setEditing(on) {
    editing = on;
    if (!on) closeForm();
    $("edit-toggle").setAttribute("aria-pressed", String(on));
    $("edit-bar").hidden = !on;
    $("tablet").classList.toggle("editing", on);
    shownHeld = "";  // the list grows or shrinks: back to the block being held
    render();
  }

  // --- the whole page ------------------------------------------------------------------

  function render() {
    const s = states[room];
    if (!s) return;
    document.body.dataset.version = s.version;
    renderNow(s);
    $("delay").textContent = s.delay_minutes ? delayText(s.delay_minutes) : t.on_time;
    $("current-message").textContent = s.message ? `✉ ${s.message}` : "";
    $("current-stage").textContent = s.stage_message
      ? fill(t.pair, { label: t.at_lectern_now, value: s.stage_message }) : "";
    const alert = $("blackout-alert");
    alert.hidden = !s.blackout;
    $("blackout-text").textContent = s.blackout
      ? `⚠ ${t.screen_hidden} — ${s.blackout === "black" ? t.black_screen : t.title_only}`
      : "";
    document.body.dataset.blackout = s.blackout || "none";
    for (const b of document.querySelectorAll(".screen-buttons [data-blackout]:not([data-blackout=''])")) {
      b.setAttribute("aria-pressed", String(b.dataset.blackout === s.blackout));
    }
    $("progress").setAttribute("aria-pressed", String(s.progress));
    renderOrder(s);
    for (const node of document.querySelectorAll(".frame, .per-room")) {
      node.hidden = node.dataset.room !== room;
    }
    showPreview();
    for (const tab of document.querySelectorAll(".room-tab")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.room === room));
    }
  }

  /* Send a command for the room; resolves to {ok, field} once answered. `versioned`:
     refused if the room changed since this tablet last saw it (the double tap). */
  async function send(action, body, versioned) {
    if (busy) return { ok: false };
    if (!online) {
      say(t.offline, "error");
      return { ok: false };
    }
    hold(true);
    try {
      const url = `/api/rooms/${encodeURIComponent(room)}/${action}`;
      const payload = Object.assign({}, body || {});
      if (versioned) payload.version = states[room].version;
      const { ok, data } = await request("POST", url, payload);
      if (ok) {
        accept(data);
        clock.set(data);
        say(`✓ ${t.sent}`, "ok");
      } else if (data.error === "stale") {
        if (data.state) accept(data.state);
        say(`⚠ ${t.stale}`, "error");
      } else {
        say(`⚠ ${data.message || t.error}`, "error");
      }
      render();
      return { ok, field: data.field };
    } catch (err) {
      say(`⚠ ${t.offline}`, "error");
      return { ok: false };
    } finally {
      setTimeout(() => hold(false), GUARD_MS);
    }
  }

  function turnCommand(cmd, turnId) {
    if (cmd === "undo") send("undo", {}, true);
    else if (cmd === "up" || cmd === "down") send("move", { turn: turnId, by: cmd === "up" ? -1 : 1 }, true);
    else if (cmd === "cancel" || cmd === "restore") {
      send("update", { turn: turnId, cancelled: cmd === "cancel" }, true);
    }
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    const d = target.dataset;
    const row = target.closest("[data-turn-id]");
    const tools = target.closest(".block-tools");
    if (d.action === "clear-message") {
      send("message", { text: null });
    } else if (d.action === "clear-stage") {
      send("stage_message", { text: null });
    } else if (d.action) {
      send(d.action, {}, true);
    } else if (d.delay !== undefined) {
      const step = Number(d.delay);
      const minutes = step === 0 ? 0 : states[room].delay_minutes + step;
      send("delay", { minutes }, true);
    } else if (d.goto) {
      if (d.cancelled) {
        say(`⚠ ${t.turn_is_cancelled}`, "error");
        return;
      }
      send("goto", { session: d.goto, turn: d.turn || null });
    } else if (d.cmd) {
      turnCommand(d.cmd, row ? row.dataset.turnId : null);
    } else if (d.open) {
      const block = row ? row.closest(".o-block").dataset.block : tools.dataset.block;
      openForm(d.open, block, row ? row.dataset.turnId : null);
    } else if (d.closeForm !== undefined) {
      closeForm();
    } else if (d.closeEdit !== undefined) {
      setEditing(false);
    } else if (d.blackout !== undefined) {
      send("blackout", { screen: d.blackout || null });
    } else if (d.pauseMinutes) {
      send("pause", { minutes: Number(d.pauseMinutes) }, true);
    } else if (d.stage) {
      send("stage_message", { text: d.stage });
    } else if (target.id === "progress") {
      send("progress", { show: !states[room].progress });
    } else if (target.id === "apply-delay") {
      send("delay", { minutes: Number(d.minutes) }, true);
    } else if (target.id === "edit-toggle") {
      setEditing(!editing);
    } else if (target.classList.contains("room-tab")) {
      room = target.dataset.room;
      localStorage.setItem("kiosk-room", room);
      // A reload, or the address passed on, opens on this room.
      const address = new URL(location.href);
      address.searchParams.set("room", room);
      history.replaceState(null, "", address);
      closeForm();
      render();
    }
  });

  $("message-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message-text").value.trim();
    if (!text) {
      say(`⚠ ${t.message_empty}`, "error");
      return;
    }
    send("message", { text });
  });

  $("stage-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("stage-text").value.trim();
    if (!text) {
      say(`⚠ ${t.message_empty}`, "error");
      return;
    }
    send("stage_message", { text });
  });

  $("pause-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send("pause", { until: $("pause-until").value }, true);
  });

  /* The preview is the real screen page at 1920×1080, scaled down to its box: the chosen
     room's only. A screen page is a whole page with its own socket; one per room, eight
     at a congress, loaded at once and kept running for nothing but the one in sight
     (measured: the tablet of 8 rooms settled in 1.9-3.8 s with 2.4-2.9 s of CPU with all
     eight, 1.1-1.4 s and 1.1-1.2 s with the chosen one). */
  let previewed = null;
  function showPreview() {
    if (previewed !== room) {
      for (const iframe of document.querySelectorAll(".frame iframe")) {
        const chosen = iframe.closest(".frame").dataset.room === room;
        if (chosen) iframe.src = iframe.dataset.src;
        else if (iframe.hasAttribute("src")) iframe.src = "about:blank";  // unloads it
      }
      previewed = room;
    }
    scalePreviews();
  }
  function scalePreviews() {
    for (const frame of document.querySelectorAll(".frame")) {
      const iframe = frame.querySelector("iframe");
      iframe.style.transform = `scale(${frame.clientWidth / 1920})`;
    }
  }
  window.addEventListener("resize", scalePreviews);

  clock.set(states[room]);
  // A pause proposed a quarter of an hour from now, on a round five minutes.
  const proposed = Math.ceil((clock.now() + 15 * 60_000) / 300_000) * 300_000;
  $("pause-until").value = hhmm(proposed);
  render();
  scalePreviews();
  setInterval(tick, 250);
  const socket = connect(boot.rooms, (s) => {
    accept(s);
    render();
  }, (up) => {
    if (up && !online) resync = new Set(boot.rooms);
    online = up;
    $("link").textContent = up ? `● ${t.live}` : `⟳ ${t.reconnecting}`;
    $("link").dataset.up = up ? "yes" : "no";
    document.body.dataset.online = up ? "yes" : "no";
  }, { full: true });
  // A VIP's arrival at the welcome desk is announced on the tablet too.
  socket.on("connect", () => socket.emit("watch_attendance"));
  Kiosk.followQueue(socket);
  socket.on("vip", Kiosk.showVip);
})();
