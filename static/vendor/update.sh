#!/usr/bin/env bash
# Refreshes the vendored front-end libraries from the npm registry (the only place
# they come from). At run time nothing is fetched from the internet: venues have
# poor connectivity, so every browser file is served from static/.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch() {  # name version -> $tmp/name/package
  mkdir -p "$tmp/$1"
  (cd "$tmp/$1" && npm pack "$1@$2" --silent >/dev/null && tar xzf ./*.tgz)
}

# Socket.IO client: screens, tablet and phones.
version=${SOCKET_IO_CLIENT_VERSION:-4.8.3}
fetch socket.io-client "$version"
mkdir -p socket.io
cp "$tmp/socket.io-client/package/dist/socket.io.min.js" "$tmp/socket.io-client/package/LICENSE" socket.io/
echo "socket.io-client $version" > socket.io/VERSION

# zxing-wasm (zxing-cpp compiled to WebAssembly): the kiosk's QR decoder. Its .wasm file
# is served from here (the library would otherwise fetch it from a CDN).
version=${ZXING_WASM_VERSION:-3.1.4}
fetch zxing-wasm "$version"
mkdir -p zxing-wasm
cp "$tmp/zxing-wasm/package/dist/iife/reader/index.js" zxing-wasm/zxing-reader.js
cp "$tmp/zxing-wasm/package/dist/reader/zxing_reader.wasm" "$tmp/zxing-wasm/package/LICENSE" zxing-wasm/
echo "zxing-wasm $version" > zxing-wasm/VERSION
