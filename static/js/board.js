/* The régie's board: every room on one screen, kept live over one socket. Each room's
   state repaints its own tile and nothing else (the tile carries the state's version in
   data-version). The thumbnail is a miniature of the room's screen drawn from the same
   state, not the screen page itself in a frame. Measured in Chromium on this project's
   test machine: 8 live screen pages in frames take 1.4 s and 2.3 s of CPU to settle, 16
   take 2.1 s and 3.1 s, each with a socket of its own, for pictures a tenth of their size
   that nobody can read; the whole board with its miniatures settles in 0.3-0.5 s and
   0.5 s of CPU, 8 rooms or 16. A tablet's CPU is several times slower. The real screen is
   one tap away, on the tablet. Every piece of user text goes in through textContent. */
"use strict";

(() => {
  const { $, boot, t, clock, hm, fill, el, connect, duration, delayText } = Kiosk;
  const words = JSON.parse($("board-strings").textContent);
  const board = $("board");
  const states = Object.assign({}, boot.states);
  const tiles = {};
  for (const tile of board.querySelectorAll(".tile")) tiles[tile.dataset.room] = tile;

  /* After a reconnection the server's word is taken as it is; otherwise keep the newest
     (a state pushed by the clock carries the version it had). */
  let resync = new Set();
  let online = false;
  function accept(s) {
    const known = states[s.room];
    if (!known || resync.delete(s.room) || s.version >= known.version) {
      states[s.room] = s;
      return true;
    }
    return false;
  }

  const part = (tile, name) => tile.querySelector(`.${name}`);
  const nameOf = (turn) => [turn.role, turn.display_name].filter(Boolean).join(" · ");

  /* What the room's screen is about now, in one line: the block, else what the screen
     says between blocks (welcome before the day, the day is over after it, else a break). */
  function blockLine(s) {
    if (s.session) return [s.session.label, s.session.title].filter(Boolean).join(" · ");
    return { before: t.welcome, after: t.day_over }[s.phase] || t.break;
  }

  /* Who is on: the speaker at the lectern; in auto mode, nobody is highlighted and the
     screen lists the block's speakers, so the tile does too. */
  function whoLine(s) {
    if (s.pause) return `☕ ${fill(t.pause_until, { time: hm(Date.parse(s.pause.until)) })}`;
    if (s.speaker) return `▶ ${nameOf(s.speaker)}`;
    if (!s.session || !s.session.turns.length) return "";
    if (s.mode === "manual") return t.session_open;
    return s.session.turns.map(nameOf).join(", ");
  }

  function chip(kind, text) {
    const node = el("span", `chip chip-${kind}`, text);
    node.dataset.kind = kind;
    return node;
  }

  function paint(s) {
    const tile = tiles[s.room];
    if (!tile) return;
    tile.dataset.version = s.version;
    tile.dataset.mode = s.mode;
    tile.dataset.blackout = s.blackout || "none";
    tile.dataset.late = s.delay_minutes > 0 || s.drift_minutes > 0 ? "yes" : "no";
    const mode = part(tile, "tile-mode");
    mode.textContent = s.mode === "auto" ? `● ${words.auto}` : `■ ${words.manual}`;
    const alerts = [];
    if (s.blackout) {
      alerts.push(chip("blackout", `■ ${s.blackout === "black" ? words.blackout_black : words.blackout_title}`));
    }
    // Shown by the countdown when the turn runs over (tick).
    const over = chip("over", `⏱ ${words.overtime}`);
    over.hidden = true;
    alerts.push(over);
    if (s.delay_minutes) alerts.push(chip("delay", delayText(s.delay_minutes)));
    if (s.drift_minutes) {
      alerts.push(chip("drift", `⚠ ${fill(s.drift_minutes > 0 ? words.drift_late : words.drift_early, {
        duration: duration(Math.abs(s.drift_minutes)),
      })}`));
    }
    part(tile, "tile-alerts").replaceChildren(...alerts);
    part(tile, "tile-block").textContent = blockLine(s);
    const who = part(tile, "tile-speaker");
    who.textContent = whoLine(s);
    who.dataset.lectern = s.speaker ? "yes" : "no";
    part(tile, "tile-timer").hidden = !s.timer;
    const message = part(tile, "tile-message");
    message.hidden = !s.message;
    message.textContent = s.message ? `✉ ${s.message}` : "";
    const stage = part(tile, "tile-stage");
    stage.hidden = !s.stage_message;
    stage.textContent = s.stage_message ? fill(t.pair, { label: `✎ ${words.lectern}`, value: s.stage_message }) : "";
    part(tile, "tile-next").textContent = s.next
      ? fill(t.pair, { label: fill(t.next_at, { time: hm(Date.parse(s.next.start)) }), value: s.next.label })
      : "";
    paintMini(tile, s);
    tickTile(tile, s);
  }

  /* The miniature: what the room's screen shows, in the screen's own colours. */
  function paintMini(tile, s) {
    const mini = part(tile, "mini");
    mini.dataset.blackout = s.blackout || "none";
    mini.dataset.phase = s.session ? s.phase : "break";
    part(mini, "mini-label").textContent = s.session ? s.session.label : blockLine(s);
    part(mini, "mini-title").textContent = s.session ? s.session.title || "" : "";
    const who = part(mini, "mini-who");
    who.textContent = s.speaker ? s.speaker.display_name || s.speaker.role || ""
      : s.session ? s.session.turns.map((x) => x.display_name || x.role).join(" · ") : "";
    who.dataset.lectern = s.speaker ? "yes" : "no";
    const message = part(mini, "mini-message");
    message.hidden = !s.message;
    message.textContent = s.message || "";
    part(mini, "mini-blackout").hidden = s.blackout !== "title";
  }

  /* 7:05 left (counted down to the second), or +1:20 in overtime. */
  function mmss(seconds) {
    const whole = seconds < 0 ? Math.floor(-seconds) : Math.ceil(seconds);
    const text = `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
    return seconds < 0 ? `+${text}` : text;
  }

  /* The countdown of the turn at the lectern, from the clock synced to the server. */
  function tickTile(tile, s) {
    const box = part(tile, "tile-timer");
    const timer = s.timer;
    let kind = "none";
    if (timer) {
      const since = (clock.now() - Date.parse(s.server_time)) / 1000;
      if (timer.ends_at !== null) {
        const left = timer.paused ? timer.remaining_seconds
          : (Date.parse(timer.ends_at) - clock.now()) / 1000;
        kind = left < 0 ? "over" : left <= timer.warning_seconds ? "warning" : "running";
        box.textContent = `◷ ${mmss(left)}${timer.paused ? ` ❚❚ ${t.timer_paused}` : ""}`;
      } else {
        kind = "elapsed";
        box.textContent = `◷ ${mmss(timer.elapsed_seconds + (timer.paused ? 0 : since))}`;
      }
    }
    box.dataset.kind = kind;
    tile.dataset.over = kind === "over" ? "yes" : "no";
    const over = tile.querySelector(".chip-over");
    if (over) over.hidden = kind !== "over";
  }

  function tick() {
    $("clock").textContent = hm(clock.now());
    for (const room of boot.rooms) {
      if (states[room] && states[room].timer) tickTile(tiles[room], states[room]);
    }
  }

  /* As many columns as make the tiles biggest for the room count and the screen, tiles
     rather wider than tall; a grid with holes counts for less than a full one. */
  const TILE_RATIO = 1.2;
  function layout() {
    const n = boot.rooms.length;
    const gap = parseFloat(getComputedStyle(board).columnGap) || 0;
    const width = board.clientWidth;
    const height = board.clientHeight;
    let best = { score: -1, cols: 1, rows: n };
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = (width - gap * (cols - 1)) / cols;
      const h = (height - gap * (rows - 1)) / rows;
      const score = Math.min(w, h * TILE_RATIO) * Math.sqrt(n / (cols * rows));
      if (score > best.score) best = { score, cols, rows };
    }
    board.style.setProperty("--cols", best.cols);
    board.style.setProperty("--rows", best.rows);
  }
  window.addEventListener("resize", layout);

  layout();
  for (const room of boot.rooms) if (states[room]) paint(states[room]);
  if (states[boot.rooms[0]]) clock.set(states[boot.rooms[0]]);
  tick();
  setInterval(tick, 500);
  const socket = connect(boot.rooms, (s) => {
    if (accept(s)) paint(s);
  }, (up) => {
    if (up && !online) resync = new Set(boot.rooms);
    online = up;
    $("link").textContent = up ? `● ${t.live}` : `⟳ ${t.reconnecting}`;
    $("link").dataset.up = up ? "yes" : "no";
    document.body.dataset.online = up ? "yes" : "no";
  }, { full: true });
  socket.on("connect", () => socket.emit("watch_attendance"));  // for `queue`, below
  Kiosk.followQueue(socket);
})();
