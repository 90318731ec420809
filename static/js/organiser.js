/* The organiser's tablet: big buttons that send commands to the JSON API (with the
   state version they were issued against, so a double tap never skips two speakers),
   and a view of every room kept live over the socket. */
"use strict";

(() => {
  const { $, boot, t, clock, hm, fill, request, toast, connect, duration, delayText } = Kiosk;
  const say = (text, kind) => toast(text, kind, 6);  // each answer clears after 6 s
  const states = Object.assign({}, boot.states);
  let room = localStorage.getItem("kiosk-room");
  if (!boot.rooms.includes(room)) room = boot.rooms[0];
  let online = false;
  let busy = false;

  /* A double tap must not step twice. Each command carries the version it was issued
     against, but the pushed state reaches the tablet within milliseconds, so a second
     tap 40-250 ms later carried the new version and was accepted. The command buttons
     stay disabled until the answer is in and the new state shown, then a little longer. */
  const GUARD_MS = 600;
  const COMMAND_BUTTONS = "button[data-action], button[data-delay], button[data-goto], " +
    "#message-form button";
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

  function render() {
    const s = states[room];
    if (!s) return;
    document.body.dataset.version = s.version;
    $("mode").textContent = s.mode === "auto" ? `● ${t.mode_auto}` : `■ ${t.mode_manual}`;
    $("mode").dataset.mode = s.mode;
    const drift = $("drift");
    drift.hidden = !s.drift_minutes;
    drift.textContent = s.drift_minutes > 0
      ? `⚠ ${fill(t.drift_late, { duration: duration(s.drift_minutes) })}`
      : `⚠ ${fill(t.drift_early, { duration: duration(-s.drift_minutes) })}`;
    $("now-session").textContent = s.session
      ? `${s.session.label}${s.session.title ? " · " + s.session.title : ""}`
      : (s.phase === "after" ? t.day_over : t.break);
    $("now-speaker").dataset.empty = s.speaker ? "no" : "yes";
    $("now-speaker").textContent = s.speaker
      ? `▶ ${[s.speaker.role, s.speaker.display_name].filter(Boolean).join(" · ")}`
      : t.nobody;
    $("now-next").textContent = s.next
      ? fill(t.pair, {
        label: fill(t.next_at, { time: hm(Date.parse(s.next.start)) }), value: s.next.label,
      })
      : "";
    $("delay").textContent = s.delay_minutes ? delayText(s.delay_minutes) : t.on_time;
    $("current-message").textContent = s.message ? `✉ ${s.message}` : "";
    for (const block of document.querySelectorAll(".o-block")) {
      const mine = block.dataset.room === room;
      block.hidden = !mine;
      if (!mine) continue;
      const isNow = Boolean(s.session) && s.session.id === block.dataset.block;
      block.classList.toggle("now", isNow);
      for (const turn of block.querySelectorAll(".o-turn")) {
        const current = isNow && Number(turn.dataset.turn) === s.turn_index;
        turn.classList.toggle("current", current);
        if (current) turn.setAttribute("aria-current", "true");
        else turn.removeAttribute("aria-current");
      }
      // The server says which starts the announced delay moves, and where to.
      const time = block.querySelector("time[data-start]");
      const moved = s.projected[block.dataset.block];
      time.textContent = hm(Date.parse(moved ? moved.start : time.dataset.start));
      time.classList.toggle("moved", Boolean(moved));
    }
    for (const frame of document.querySelectorAll(".frame")) {
      frame.hidden = frame.dataset.room !== room;
    }
    for (const tab of document.querySelectorAll(".room-tab")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.room === room));
    }
  }

  async function send(action, body) {
    if (busy) return;
    if (!online) {
      say(t.offline, "error");
      return;
    }
    hold(true);
    try {
      const url = `/api/rooms/${encodeURIComponent(room)}/${action}`;
      const { ok, data } = await request("POST", url, body || {});
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
    } catch (err) {
      say(`⚠ ${t.offline}`, "error");
    } finally {
      setTimeout(() => hold(false), GUARD_MS);
    }
  }

  const version = () => states[room].version;

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.action === "clear-message") {
      send("message", { text: null });
    } else if (button.dataset.action) {
      send(button.dataset.action, { version: version() });
    } else if (button.dataset.delay !== undefined) {
      const step = Number(button.dataset.delay);
      const minutes = step === 0 ? 0 : states[room].delay_minutes + step;
      send("delay", { minutes, version: version() });
    } else if (button.dataset.goto) {
      const body = { session: button.dataset.goto };
      if (button.dataset.turn !== undefined) body.turn = Number(button.dataset.turn);
      send("goto", body);
    } else if (button.classList.contains("room-tab")) {
      room = button.dataset.room;
      localStorage.setItem("kiosk-room", room);
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

  // The preview is the real screen page at 1920×1080, scaled down to its box.
  function scalePreviews() {
    for (const frame of document.querySelectorAll(".frame")) {
      const iframe = frame.querySelector("iframe");
      iframe.style.transform = `scale(${frame.clientWidth / 1920})`;
    }
  }
  window.addEventListener("resize", scalePreviews);

  clock.set(states[room]);
  render();
  scalePreviews();
  setInterval(() => { $("clock").textContent = hm(clock.now()); }, 1000);
  $("clock").textContent = hm(clock.now());
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
  socket.on("vip", Kiosk.showVip);
})();
