# Every target installs what it needs first (Debian tools when missing, npm packages when the
# lock file changed), so a fresh machine needs nothing but `make demo` or `make test`.
.PHONY: deps deps-ceph build test demo bench clean images deploy

deps:
	bash scripts/install-deps.sh

# Ceph's monitor, OSD and RADOS Gateway: only for what runs against Ceph RGW (large: ~310 MB).
deps-ceph:
	bash scripts/install-deps.sh --ceph

build: deps
	npm run build

test: deps-ceph build
	npm test

# S3=rgw (default): MinIO runs as a one-node Ceph cluster behind the RADOS Gateway; S3=embedded:
# the embedded S3 server (no Ceph packages needed).
S3 ?= rgw
demo: $(if $(filter rgw,$(S3)),deps-ceph) build
	node dist/infra/demo/main.js --s3 $(S3)

bench: build
	npm run bench:collector
	npm run bench:podtracer
	npm run bench:devcluster
	npm run bench:operator
	npm run bench:analyzer

clean:
	rm -rf dist .state

# Container images (needs a container engine) and a deployment to the current kubectl context.
# REGISTRY is prefixed to the image names (snoopy/operator, ...); empty means no registry.
REGISTRY ?=
TAG ?= latest
IMAGE_PREFIX = $(if $(REGISTRY),$(patsubst %/,%,$(REGISTRY))/,)
IMAGES = operator collector analyzer podtracer

images:
	@command -v docker >/dev/null 2>&1 || { echo "make images: docker not found; a container engine is needed" >&2; exit 1; }
	for image in $(IMAGES); do \
	  docker build -f images/Dockerfile --target $$image -t $(IMAGE_PREFIX)snoopy/$$image:$(TAG) . || exit 1; \
	done
	@if [ -n "$(REGISTRY)" ]; then for image in $(IMAGES); do docker push $(IMAGE_PREFIX)snoopy/$$image:$(TAG) || exit 1; done; fi

deploy:
	bash infra/deploy.sh "$(REGISTRY)" "$(TAG)"
