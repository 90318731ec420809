/* The stream's lower third (an OBS or vMix browser source): the name and function of
   the speaker at the lectern, nothing when nobody is. The page itself is transparent. */
"use strict";

(() => {
  const { $, boot, connect } = Kiosk;
  const box = $("lower-third");
  const role = $("lt-role");
  const name = $("lt-name");
  const func = $("lt-function");

  function show(s) {
    const sp = s.speaker;
    // A turn without a person (« Débat avec la salle ») has nobody to name.
    const named = Boolean(sp && sp.display_name);
    box.hidden = !named;
    document.body.dataset.speaker = named ? sp.display_name : "";
    if (!named) return;
    role.hidden = !sp.role;
    role.textContent = sp.role || "";
    name.textContent = sp.display_name;
    func.hidden = !sp.function;
    func.textContent = sp.function || "";
  }

  show(boot.state);
  connect([boot.room], (s) => {
    if (s.room === boot.room) show(s);
  }, (up) => {
    // Not shown on the stream: the last lower third stays while the link is down.
    document.body.dataset.online = up ? "yes" : "no";
  });
})();
