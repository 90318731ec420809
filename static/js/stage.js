/* The lectern's screen: who speaks, a countdown read from three metres, who comes next,
   the clock, and the organiser's private word for the speaker. The server says when the
   turn ends (timer.ends_at) and from when the time is short (timer.warning_seconds);
   the page only counts down to it with the synced clock between two states. */
"use strict";

(() => {
  const { $, boot, t, clock, hm, fill, el, connect } = Kiosk;
  const body = document.body;
  const speakerBox = $("speaker");
  const timerBox = $("timer");
  const countBox = $("count");
  const timerLabel = $("timer-label");
  const elapsedBox = $("elapsed");
  const messageBox = $("stage-message");
  const nextBox = $("next");
  const whereBox = $("where");
  const clockBox = $("clock");
  const offline = $("offline");
  // How long « Temps écoulé » holds 0:00 before the overtime counts up (and flashes): a
  // moment for the speaker to see the change, not a rule about time.
  const TIME_UP_HOLD = 10;
  let state = boot.state;

  /* 7:05, 12:00, 1:02:03 */
  function clockText(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
  }

  /* What the timer reads now: the server's figures, moved on by the synced clock unless
     the timer is held (then they stay put). */
  function reading(timer) {
    const moved = timer.paused ? 0 : (clock.now() - Date.parse(state.server_time)) / 1000;
    const elapsed = timer.elapsed_seconds + moved;
    if (timer.ends_at === null) return { elapsed, remaining: null };
    const remaining = timer.paused ? timer.remaining_seconds
      : (Date.parse(timer.ends_at) - clock.now()) / 1000;
    return { elapsed, remaining };
  }

  /* The countdown's state (body[data-timer]) and what it shows. Seconds are rounded up:
     0:00 shows once the time is really up, and the warning colour comes with 2:00. */
  function countdown(timer) {
    const { elapsed, remaining } = reading(timer);
    if (remaining === null) {
      return { kind: timer.paused ? "paused" : "none", elapsed };
    }
    const shown = Math.ceil(remaining);
    if (timer.paused) {
      const text = shown >= 0 ? clockText(shown) : `+${clockText(-remaining)}`;
      return { kind: "paused", text, label: t.stage_paused };
    }
    if (shown > timer.warning_seconds) {
      return { kind: "normal", text: clockText(shown), label: t.stage_remaining };
    }
    if (shown > 0) return { kind: "warning", text: clockText(shown), label: t.stage_remaining };
    if (-remaining < TIME_UP_HOLD) return { kind: "time-up", text: clockText(0), label: t.stage_time_up };
    return { kind: "overtime", text: `+${clockText(-remaining)}`, label: t.stage_overtime };
  }

  function who(turn) {
    return turn.display_name || turn.role || "";
  }

  /* The next speaker: the first turn of the session not heard yet (what Next brings),
     else the next block. */
  function nextLine(s) {
    const session = s.session;
    if (s.phase === "session" && session && !s.pause) {
      const current = s.speaker ? s.speaker.turn_id : null;
      const turn = session.turns.find((x) => !x.cancelled && !x.done && x.id !== current);
      if (turn) {
        const line = el("p", "next-line");
        line.append(el("span", "next-label", fill(t.label_colon, { label: t.stage_next })));
        line.append(el("span", "next-who", who(turn)));
        if (turn.display_name && turn.function) line.append(el("span", "next-function", turn.function));
        return line;
      }
    }
    if (!s.next) return null;
    const line = el("p", "next-line");
    // After a pause nobody printed, the block resumes when the pause says, not at its time.
    const label = s.pause ? fill(t.label_colon, { label: t.stage_next })
      : fill(t.next_at, { time: hm(Date.parse(s.next.start)) });
    line.append(el("span", "next-label", label));
    line.append(el("span", "next-who", s.next.title ? `${s.next.label} · ${s.next.title}` : s.next.label));
    return line;
  }

  /* The middle of the screen: the speaker, or what the room is doing without one. */
  function renderSpeaker(s) {
    speakerBox.replaceChildren();
    const sp = s.speaker;
    if (s.pause) {
      speakerBox.append(el("p", "stage-big", fill(t.stage_pause_until, { time: hm(Date.parse(s.pause.until)) })));
      body.dataset.situation = "pause";
    } else if (sp) {
      const kicker = sp.role ? `${t.at_lectern} · ${sp.role}` : t.at_lectern;
      speakerBox.append(el("p", "stage-kicker", kicker));
      speakerBox.append(el("p", "stage-name", sp.display_name || sp.role || ""));
      if (sp.function) speakerBox.append(el("p", "stage-function", sp.function));
      body.dataset.situation = "speaker";
    } else if (s.phase === "session" && s.session && s.mode === "manual") {
      speakerBox.append(el("p", "stage-big", t.stage_open));
      body.dataset.situation = "open";
    } else {
      const word = s.phase === "before" ? t.welcome : s.phase === "after" ? t.day_over
        : s.session ? s.session.label : t.break;
      speakerBox.append(el("p", "stage-big", word));
      body.dataset.situation = s.phase;
    }
    const where = [s.room_name];
    if (s.session) where.push(s.session.label);
    whereBox.textContent = where.join(" · ");
  }

  /* The organiser's word for the speaker: as big as its length allows in its band. */
  function fitMessage() {
    if (messageBox.hidden) return;
    const u = Math.min(window.innerHeight, window.innerWidth * 0.5625) / 100;
    for (let size = 7.5; size >= 3; size -= 0.5) {
      messageBox.style.fontSize = `${size * u}px`;
      if (messageBox.scrollHeight <= messageBox.clientHeight + 1) return;
    }
  }

  function render(s) {
    renderSpeaker(s);
    messageBox.hidden = !s.stage_message;
    messageBox.textContent = s.stage_message || "";
    nextBox.replaceChildren();
    const line = nextLine(s);
    if (line) nextBox.append(line);
    body.dataset.version = s.version;
    body.dataset.speaker = s.speaker ? s.speaker.name || s.speaker.role || "" : "";
    fitMessage();
    tick();
  }

  function tick() {
    clockBox.textContent = hm(clock.now());
    const timer = state.speaker && !state.pause ? state.timer : null;
    if (!timer) {
      timerBox.hidden = true;
      elapsedBox.hidden = true;
      body.dataset.timer = "none";
      return;
    }
    const c = countdown(timer);
    body.dataset.timer = c.kind;
    if (c.text === undefined) {
      // No budget: nothing counts down, the time spoken is said small (no guessing).
      timerBox.hidden = true;
      elapsedBox.hidden = false;
      const spoken = fill(t.stage_elapsed, { time: clockText(c.elapsed) });
      elapsedBox.textContent = timer.paused ? `${t.stage_paused} · ${spoken}` : spoken;
      return;
    }
    elapsedBox.hidden = true;
    timerBox.hidden = false;
    countBox.textContent = c.text;
    countBox.dataset.length = c.text.length > 6 ? "long" : "short";
    let label = c.label;
    if (timer.extra_minutes > 0) label += ` · ${fill(t.stage_extra, { n: timer.extra_minutes })}`;
    timerLabel.textContent = label;
  }

  clock.set(state);
  render(state);
  setInterval(tick, 200);
  window.addEventListener("resize", fitMessage);
  Kiosk.keepAwake();
  connect([boot.room], (s) => {
    if (s.room !== boot.room) return;
    state = s;
    render(s);
  }, (up) => {
    offline.hidden = up;
    body.dataset.online = up ? "yes" : "no";
  }, { full: true, stage: boot.stage });
})();
