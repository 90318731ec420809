/* Organisers' arrivals page: counters and the arrivals chart pushed over the socket,
   accent-insensitive search, manual check-in and undo, VIP alerts. */
"use strict";

(() => {
  const { $, boot, t, hm, el, fill, request, toast, showVip } = Kiosk;
  let searchTimer = null;

  function renderCounters(stats) {
    $("n-checked-in").textContent = stats.checked_in;
    $("n-expected").textContent = stats.expected;
    $("n-walk-ins").textContent = stats.walk_ins;
    const body = $("by-category");
    body.replaceChildren();
    for (const [key, c] of Object.entries(stats.by_category)) {
      if (!c.expected && !c.checked_in && !c.walk_ins) continue;
      const row = el("tr");
      row.append(el("td", null, boot.categories[key] || key), el("td", null, c.checked_in),
        el("td", null, c.expected), el("td", null, c.walk_ins));
      body.append(row);
    }
    const bars = $("bars");
    bars.replaceChildren();
    const top = Math.max(1, ...stats.arrivals.map((a) => a.count));
    for (const slot of stats.arrivals) {
      const col = el("div", "bar-col");
      col.title = fill(t.pair, { label: hm(Date.parse(slot.from)), value: slot.count });
      const bar = el("div", "fill");
      bar.style.height = `${(slot.count / top) * 80}%`;
      col.append(el("span", "count", slot.count), bar, el("span", "when", hm(Date.parse(slot.from))));
      bars.append(col);
    }
    document.body.dataset.checkedIn = stats.checked_in;
  }

  /* The list is searched again after every check-in pushed (once a second in the
     rush): rebuilt only when what it shows has changed, so that the button an organiser
     is about to tap is not replaced under their finger. */
  let shown = "";
  function renderPeople(list) {
    const key = JSON.stringify(list);
    if (key === shown) return;
    shown = key;
    const ul = $("people");
    ul.replaceChildren();
    for (const p of list) {
      const li = el("li", "person");
      const who = el("span", "who");
      who.append(el("span", "name", `${p.vip ? "★ " : ""}${p.civility} ${p.first_name} ${p.last_name}`.trim()));
      who.append(el("span", "org", [p.function, p.organisation].filter(Boolean).join(" — ")));
      const state = el("span", p.checked_in_at ? "state in" : "state",
        p.checked_in_at ? `✓ ${hm(Date.parse(p.checked_in_at))}` : t.not_arrived);
      const button = el("button", null, p.checked_in_at ? t.undo : t.check_in);
      button.type = "button";
      button.addEventListener("click", async () => {
        let reason = null;
        if (p.checked_in_at) {
          reason = window.prompt(t.undo_reason);
          if (!reason) return;
        }
        button.disabled = true;  // one tap, one action: a second tap waits for the answer
        try {
          const result = p.checked_in_at
            ? await request("POST", `/api/attendees/${p.id}/undo`, { reason })
            : await request("POST", `/api/attendees/${p.id}/checkin`, {});
          toast(result.ok ? `✓ ${result.data.message || t.sent}` : `⚠ ${result.data.message}`);
        } catch (err) {
          toast(`⚠ ${t.network_error}`);
        } finally {
          button.disabled = false;
          search();
        }
      });
      li.append(who, state, button);
      ul.append(li);
    }
  }

  /* Answers may come back out of order (a slow one for an older query): only the
     answer to the latest search is shown. */
  let asked = 0;
  async function search() {
    const mine = ++asked;
    const q = $("q").value;
    try {
      const { ok, data } = await request("GET", `/api/attendees?q=${encodeURIComponent(q)}`);
      if (ok && mine === asked) renderPeople(data.attendees);
    } catch (err) {
      // No answer: the list stays as it was; the next keystroke or check-in asks again.
    }
  }

  function searchSoon() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 200);
  }

  $("q").addEventListener("input", searchSoon);

  renderCounters(boot.attendance);
  search();
  const socket = io({ reconnectionDelayMax: 3000 });
  socket.on("connect", () => {
    socket.emit("watch_attendance");
    $("link").textContent = `● ${t.live}`;
    document.body.dataset.online = "yes";
  });
  socket.on("disconnect", () => {
    $("link").textContent = `⟳ ${t.reconnecting}`;
    document.body.dataset.online = "no";
  });
  // The counters come after check-ins made anywhere (at most once a second): the list
  // is searched again, so that a guest who has just arrived is shown as arrived.
  socket.on("attendance", (stats) => {
    renderCounters(stats);
    searchSoon();
  });
  socket.on("vip", showVip);
})();
