#!/usr/bin/env bash
# make deploy: applies infra/default (and knative/ when Knative Serving is installed) to the
# current kubectl context, with the project's images taken from REGISTRY and TAG.
#   infra/deploy.sh [--render] [REGISTRY] [TAG]     e.g. infra/deploy.sh my.registry.example/team v0.1.0
#   --render   print the manifests that would be applied instead of applying them
# Environment: SNOOPY_DEPLOY_KNATIVE=true|false overrides the Knative detection;
#              SNOOPY_DEPLOY_DIR is where the generated overlay goes (default .state/deploy).
set -euo pipefail
cd "$(dirname "$0")/.."
render=false
if [ "${1:-}" = "--render" ]; then render=true; shift; fi
registry=${1:-}
tag=${2:-latest}
case "$tag" in (*[!A-Za-z0-9_.-]*|'') echo "deploy: invalid TAG \"$tag\"" >&2; exit 2;; esac
case "$registry" in (*[!A-Za-z0-9_.:/-]*) echo "deploy: invalid REGISTRY \"$registry\"" >&2; exit 2;; esac
prefix=${registry:+${registry%/}/}
overlay=${SNOOPY_DEPLOY_DIR:-.state/deploy}
mkdir -p "$overlay"
root=$(pwd)
rel=$(realpath --relative-to="$overlay" "$root")

with_knative=${SNOOPY_DEPLOY_KNATIVE:-}
if [ -z "$with_knative" ]; then
  with_knative=false
  if kubectl api-resources --api-group=serving.knative.dev -o name 2>/dev/null | grep -q '^services\.'; then
    with_knative=true
  fi
fi

# Knative resolves image tags to digests by asking the registry, except for registries listed in
# its config-deployment registries-skipping-tag-resolving (default kind.local, ko.local, dev.local).
# Images loaded into kind without a registry must carry one of those prefixes.
if [ "$with_knative" = true ]; then
  case "${prefix%%/*}" in
    (kind.local|ko.local|dev.local) ;;
    ('') echo "deploy: warning: no REGISTRY with Knative: Knative will look up snoopy/collector:$tag and snoopy/analyzer:$tag on Docker Hub and the revisions fail; with kind use REGISTRY=kind.local (kind load docker-image kind.local/snoopy/...)" >&2 ;;
    (*) ;;
  esac
fi

{
  echo "# Written by infra/deploy.sh; regenerated on every run."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $rel/infra/default"
  if [ "$with_knative" = true ]; then echo "  - $rel/knative"; fi
  echo "images:"
  for name in operator collector analyzer podtracer; do
    echo "  - name: snoopy/$name"
    echo "    newName: ${prefix}snoopy/$name"
    echo "    newTag: \"$tag\""
  done
  # The operator starts capture pods and collectors itself: tell it the same images.
  echo "configMapGenerator:"
  echo "  - name: snoopy-operator-config"
  echo "    namespace: snoopy-operator"
  echo "    behavior: merge"
  echo "    literals:"
  echo "      - SNOOPY_PODTRACER_IMAGE=${prefix}snoopy/podtracer:$tag"
  echo "      - SNOOPY_COLLECTOR_IMAGE=${prefix}snoopy/collector:$tag"
} > "$overlay/kustomization.yaml"

if [ "$render" = true ]; then
  exec kubectl kustomize "$overlay"
fi
kubectl apply -k "$overlay"
if [ "$with_knative" != true ]; then
  echo "deploy: Knative Serving not found; skipped knative/ (SnoopyDataEndpoints fall back to a Deployment + Service)" >&2
fi
echo "deploy: applied; next: kubectl apply -k infra/samples" >&2
