/* The welcome kiosk: a QR code shown to the camera (decoded by zxing-wasm, served from
   static/vendor) or typed by a handheld scanner followed by Enter, answered in big type
   with an icon and text, announced through aria-live; walk-ins register and get a badge.
   The page never shows anyone else's data: no list, no search. */
"use strict";

(() => {
  const { $, t, request } = Kiosk;
  const sections = ["scan", "result", "walk-in", "badge"];
  const RESULT_SECONDS = { checked_in: 4, already_checked_in: 5 };
  let view = "scan";
  let busy = false;
  let lastCode = "";
  let lastAt = 0;
  let backTimer = null;

  function show(name) {
    view = name;
    for (const id of sections) $(id).hidden = id !== name;
    document.body.dataset.view = name;
    if (name === "scan") {
      $("code").focus();
      $("code").select();  // a code kept to retry: Enter sends it, a new scan replaces it
    }
  }

  const ICONS = { checked_in: "✓", already_checked_in: "ℹ", unknown: "✗", invalid: "✗",
                  rate_limited: "⏳", error: "⚠" };

  function answer(kind, text, sub, seconds) {
    $("result").dataset.kind = kind;
    $("result-icon").textContent = ICONS[kind] || "⚠";
    $("result-text").textContent = text;
    $("result-sub").textContent = sub || "";
    show("result");
    clearTimeout(backTimer);
    backTimer = setTimeout(() => show("scan"), (seconds || RESULT_SECONDS[kind] || 6) * 1000);
  }

  async function submit(code) {
    code = code.trim();
    if (!code || busy) return;
    // The camera sees the same code many times a second: one answer is enough.
    if (code === lastCode && Date.now() - lastAt < 6000) return;
    lastCode = code;
    lastAt = Date.now();
    busy = true;
    let retry = false;
    try {
      const { status, data } = await request("POST", "/api/checkin", { code });
      // 503: the server could not record the scan just now (its storage is busy or
      // failing). The code stays, selected, so that Enter sends it again and a scanner's
      // next code replaces it; it does not count as seen, so the camera retries it too.
      retry = status === 503;
      if (retry) {
        lastCode = "";
        answer("error", data.message || t.error, "", Math.min(data.retry_after || 2, 10));
      } else {
        answer(data.status || "error", data.message || t.error);
      }
    } catch (err) {
      // No answer (the network, a server restarting): kept to send again, as on a 503.
      retry = true;
      lastCode = "";
      answer("error", t.network_error);
    } finally {
      busy = false;
      $("code").value = retry ? code : "";
    }
  }

  // Handheld scanners type the code then Enter, into whatever has the focus.
  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submit($("code").value);
  });
  document.addEventListener("click", () => {
    if (view === "scan") $("code").focus();
  });

  // --- walk-in ------------------------------------------------------------------------
  $("walk-in-open").addEventListener("click", () => {
    $("walk-in-form").reset();
    $("form-error").textContent = "";
    show("walk-in");
    $("walk-in-form").elements.first_name.focus();
  });
  $("walk-in-cancel").addEventListener("click", () => show("scan"));
  $("badge-done").addEventListener("click", () => show("scan"));
  $("badge-print").addEventListener("click", () => window.print());

  $("walk-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    const form = event.target;
    const body = {};
    for (const field of ["civility", "first_name", "last_name", "organisation", "function",
      "category", "email"]) body[field] = form.elements[field].value;
    busy = true;
    try {
      const { status, data } = await request("POST", "/api/attendees", body);
      if (status === 201) {
        const a = data.attendee;
        $("badge-welcome").textContent = data.message;
        $("badge-name").textContent = `${a.first_name} ${a.last_name}`;
        $("badge-function").textContent = a.function;
        $("badge-org").textContent = a.organisation;
        $("badge-qr").src = data.qr_url;
        show("badge");
        clearTimeout(backTimer);
        backTimer = setTimeout(() => show("scan"), 120000);
      } else {
        $("form-error").textContent = `⚠ ${data.message || t.error}`;
        if (data.field && form.elements[data.field]) form.elements[data.field].focus();
      }
    } catch (err) {
      $("form-error").textContent = `⚠ ${t.network_error}`;
    } finally {
      busy = false;
    }
  });

  // --- camera -------------------------------------------------------------------------
  async function startCamera() {
    const status = $("camera-status");
    if (!navigator.mediaDevices || !window.ZXingWASM) {
      status.textContent = t.camera_unavailable;
      return;
    }
    status.textContent = t.camera_starting;
    ZXingWASM.setZXingModuleOverrides({
      locateFile: (path, prefix) =>
        path.endsWith(".wasm") ? `/static/vendor/zxing-wasm/${path}` : prefix + path,
    });
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (err) {
      status.textContent = t.camera_unavailable;
      return;
    }
    const video = $("video");
    video.srcObject = stream;
    await video.play();
    status.textContent = t.camera_ready;
    document.body.dataset.camera = "on";
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    async function scan() {
      if (view === "scan" && !busy && video.videoWidth) {
        const scale = Math.min(1, 800 / video.videoWidth);
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        try {
          const [found] = await ZXingWASM.readBarcodesFromImageData(image, {
            formats: ["QRCode"], maxNumberOfSymbols: 1, tryHarder: true,
          });
          if (found && found.isValid && found.text) await submit(found.text);
        } catch (err) {
          console.error("QR decoder failed", err);
          status.textContent = t.camera_unavailable;
        }
      }
      setTimeout(scan, 150);
    }
    scan();
  }

  show("scan");
  Kiosk.keepAwake();
  startCamera();
})();
