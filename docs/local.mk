# docs: shipped in the tarball.
EXTRA_DIST += docs/README.md docs/manual.md docs/integration.md docs/dependencies.md docs/conformance.md
