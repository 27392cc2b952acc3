#!/usr/bin/env bash
# Downloads Meta's WhatsApp Business Messaging OpenAPI spec (v23.0, MIT licensed) that
# shared/whatsapp/whatsappspec validates sends against, for machines that do not have
# ../shared/reference beside the repository. Tests never run this: without the spec
# they skip with a message pointing here (`make openapi-spec`).
#
# Destination: $WHATSAPP_OPENAPI_SPEC if set, else .local/openapi/ inside the repo
# (git-ignored), which whatsappspec.SpecPath() looks at when ../shared/reference is absent.
#
# Pinned to a commit of github.com/facebook/openapi so a run is reproducible; Meta
# publishes the file there as business-messaging-api_v23.0.yaml. The copy in
# ../shared/reference may come from a different commit of the same v23.0 file. If a
# newer commit fixes a defect, the matching whatsappspec patch fails loudly ("patch ...:
# ... not found") rather than silently doing nothing: update the pin and the patches together.
set -euo pipefail

REPO="facebook/openapi"
COMMIT="231e184578bf86f5024149dd8d5ec234e340f6cb"
SRC_PATH="business-messaging-api_v23.0.yaml"
FILE_NAME="whatsapp-business-messaging-openapi-v23.0.yaml"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${WHATSAPP_OPENAPI_SPEC:-$root/.local/openapi/$FILE_NAME}"
mkdir -p "$(dirname "$dest")"

base="https://raw.githubusercontent.com/$REPO/$COMMIT"
tmp="$(mktemp "${dest}.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

echo "fetching $REPO@$COMMIT:$SRC_PATH"
curl --fail --silent --show-error --location --retry 3 --max-time 120 -o "$tmp" "$base/$SRC_PATH"

# A proxy error page or a truncated download must not be mistaken for the spec.
if ! head -n 1 "$tmp" | grep -q '^openapi: 3\.1'; then
	echo "error: downloaded file does not look like an OpenAPI 3.1 document" >&2
	exit 1
fi
if ! grep -q '^  /whatsapp/webhooks:' "$tmp"; then
	echo "error: downloaded spec has no /whatsapp/webhooks path" >&2
	exit 1
fi
mv "$tmp" "$dest"
trap - EXIT

# The spec is MIT licensed; keep the licence beside it.
curl --fail --silent --show-error --location --retry 3 --max-time 60 \
	-o "$(dirname "$dest")/$FILE_NAME.LICENSE" "$base/LICENSE" ||
	echo "warning: could not fetch LICENSE from $REPO@$COMMIT" >&2

if command -v sha256sum >/dev/null; then
	sha256sum "$dest"
fi
echo "spec saved to $dest"
if [ -z "${WHATSAPP_OPENAPI_SPEC:-}" ]; then
	echo "whatsappspec finds it there when ../shared/reference is absent; or export WHATSAPP_OPENAPI_SPEC=$dest"
fi
