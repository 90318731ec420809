#!/usr/bin/env bash
# Refreshes the vendored front-end libraries from the npm registry (the only place
# they come from). At run time nothing is fetched from the internet: venues have
# poor connectivity, so every browser file is served from static/.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=${SOCKET_IO_CLIENT_VERSION:-4.8.3}
(cd "$tmp" && npm pack "socket.io-client@$version" --silent >/dev/null && tar xzf socket.io-client-*.tgz)
mkdir -p socket.io
cp "$tmp/package/dist/socket.io.min.js" "$tmp/package/LICENSE" socket.io/
echo "socket.io-client $version" > socket.io/VERSION
