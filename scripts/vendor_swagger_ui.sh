#!/bin/sh
# Refresh the Swagger UI that /docs/api serves from imgpro's own static files (no CDN: a
# self-hosted docs page must render offline and tell no third party about its visitors).
# Usage: scripts/vendor_swagger_ui.sh [VERSION]   (the npm package swagger-ui-dist)
set -eu
VERSION="${1:-5.35.0}"
DEST="$(cd "$(dirname "$0")/.." && pwd)/src/imgpro/web/static/vendor/swagger-ui"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null
tar xzf "swagger-ui-dist-$VERSION.tgz"
mkdir -p "$DEST"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt; do
  # Source maps are not shipped: drop the comments that would ask for them.
  sed '/sourceMappingURL=/d' "package/$f" > "$DEST/$f"
done
echo "$VERSION" > "$DEST/VERSION"
echo "swagger-ui-dist $VERSION -> $DEST"
