# Every target installs what it needs first (Debian tools when missing, npm packages when the
# lock file changed), so a fresh machine needs nothing but `make demo` or `make test`.
.PHONY: deps deps-ceph build test test-policy-diff demo bench clean images deploy

deps:
	bash scripts/install-deps.sh

# Ceph's monitor, OSD and RADOS Gateway: only for what runs against Ceph RGW (large: ~310 MB).
deps-ceph:
	bash scripts/install-deps.sh --ceph

build: deps
	npm run build

# lint and the part boundaries (.dependency-cruiser.cjs) first, before minutes of tests; the
# storage conformance suite runs against Ceph RGW too, hence its packages
test: deps-ceph build
	npm run lint
	npm run check:boundaries
	npm test

# The tool policy against the real tools: 1,000 generated argument lists per tool, each one the
# policy allows run under strace in a throwaway network namespace (README, "Security model").
# POLICY_DIFF_SEED, POLICY_DIFF_PER_TOOL and POLICY_DIFF_ARGS (e.g. --tools curl,dig) adjust it.
test-policy-diff: build
	node dist/lib/test/policy-diff/main.js --per-tool $${POLICY_DIFF_PER_TOOL:-1000} $${POLICY_DIFF_ARGS:-}

# S3=rgw (default): MinIO runs as a one-node Ceph cluster behind the RADOS Gateway; S3=embedded:
# the embedded S3 server (no Ceph packages needed).
S3 ?= rgw
demo: $(if $(filter rgw,$(S3)),deps-ceph) build
	node dist/infra/demo/main.js --s3 $(S3)

bench: build
	npm run bench:collector
	npm run bench:podtracer
	npm run bench:sandbox
	npm run bench:devcluster
	npm run bench:operator
	npm run bench:analyzer

clean:
	rm -rf dist .state

# Container images (needs a container engine) and a deployment to the current kubectl context.
# REGISTRY is prefixed to the image names (snoopy/operator, ...); empty means no registry, and
# kind.local (ko.local, dev.local) names images for `kind load` that Knative does not resolve.
REGISTRY ?=
TAG ?= latest
IMAGE_PREFIX = $(if $(REGISTRY),$(patsubst %/,%,$(REGISTRY))/,)
IMAGES = operator collector analyzer podtracer

images:
	@command -v docker >/dev/null 2>&1 || { echo "make images: docker not found; a container engine is needed" >&2; exit 1; }
	for image in $(IMAGES); do \
	  docker build -f images/Dockerfile --target $$image -t $(IMAGE_PREFIX)snoopy/$$image:$(TAG) . || exit 1; \
	done
	@# kind.local, ko.local, dev.local: local names Knative does not resolve (kind load, not push)
	@case "$(REGISTRY)" in ''|kind.local|kind.local/|ko.local|ko.local/|dev.local|dev.local/) ;; \
	  *) for image in $(IMAGES); do docker push $(IMAGE_PREFIX)snoopy/$$image:$(TAG) || exit 1; done;; esac

deploy:
	bash infra/deploy.sh "$(REGISTRY)" "$(TAG)"
