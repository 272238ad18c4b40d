# Every target installs what it needs first (Debian tools when missing, npm packages when the
# lock file changed), so a fresh machine needs nothing but `make demo` or `make test`.
.PHONY: deps build test demo bench clean images deploy

deps:
	bash scripts/install-deps.sh

build: deps
	npm run build

test: build
	npm test

demo: build
	node dist/infra/demo/main.js

bench: build
	npm run bench:collector
	npm run bench:podtracer
	npm run bench:devcluster
	npm run bench:operator
	npm run bench:analyzer

clean:
	rm -rf dist .state
