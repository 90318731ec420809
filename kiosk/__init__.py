"""kiosk: the live room screens, organiser tablet and phone programme of a conference day.

Kept empty on purpose: `kiosk serve` must let gevent patch the standard library before
Flask and its dependencies are imported (see kiosk.cli.main); the app lives in kiosk.app.
"""
