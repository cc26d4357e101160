# Image the docker-build and build-installer targets use.
IMG ?= ghcr.io/taskprotection/ecs-taskprotection-controller:latest

# Tools are built from the Go module proxy into ./bin, one file per version.
LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
KUBECTL ?= kubectl

CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
KUSTOMIZE_VERSION ?= v5.8.2

# Flags for go test; override to narrow a run, e.g. GO_TEST_FLAGS='-run TestWatch -v'.
GO_TEST_FLAGS ?=

# Setting SHELL to bash allows bash commands to be executed by recipes.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and RBAC manifests under config/.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods for the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt against the code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against the code.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply its fixes.
	$(GOLANGCI_LINT) run --fix

.PHONY: control-plane
control-plane: ## Build kube-apiserver and etcd from source into bin/k8s/ (minutes the first time).
	./hack/build-control-plane.sh >/dev/null

.PHONY: test
test: manifests generate fmt vet ## Run unit and integration tests against a local control plane and the ECS emulator.
	assets="$$(./hack/build-control-plane.sh)"; \
	KUBEBUILDER_ASSETS="$$assets" go test ./... $(GO_TEST_FLAGS) -coverprofile cover.out

.PHONY: verify
verify: manifests generate ## Regenerate CRDs, RBAC and DeepCopy code and fail if they differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api config)" ]; then \
		git status --porcelain -- api config; git --no-pager diff -- api config; \
		echo "Generated files are out of date: run 'make manifests generate' and commit the result."; \
		exit 1; \
	fi

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary into bin/manager.
	CGO_ENABLED=0 go build -trimpath -o bin/manager .

.PHONY: run
run: manifests generate fmt vet ## Run the controller against the cluster in ~/.kube/config.
	go run ./main.go

.PHONY: emulator
emulator: ## Run the ECS emulator on 127.0.0.1:4566.
	go run ./hack/ecs-emulator

.PHONY: demo
demo: build ## Run the controller against a local control plane and the ECS emulator.
	go build -o $(LOCALBIN)/demo/demo ./hack/demo && exec $(LOCALBIN)/demo/demo $(DEMO_FLAGS)

.PHONY: docker-build
docker-build: ## Build the container image IMG (needs a Docker engine, which the development and CI machines lack).
	@docker info >/dev/null 2>&1 || { echo "docker-build needs a running Docker engine, and none answers here."; exit 1; }
	docker build -t $(IMG) .

# kustomize-build-image renders config/default with the manager image set to
# $(IMG) and writes it to stdout. `kustomize edit set image` rewrites
# config/manager/kustomization.yaml, so it runs on a temporary copy of
# config/ and the committed file keeps controller:latest.
define kustomize-build-image
tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
cp -R config "$$tmp/config"; \
(cd "$$tmp/config/manager" && $(KUSTOMIZE) edit set image controller=$(IMG)); \
$(KUSTOMIZE) build "$$tmp/config/default"
endef

.PHONY: build-installer
build-installer: manifests generate kustomize ## Write dist/install.yaml, which installs the CRD, RBAC and controller with image IMG.
	mkdir -p dist
	{ $(kustomize-build-image); } > dist/install.yaml.tmp
	mv dist/install.yaml.tmp dist/install.yaml

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster in ~/.kube/config.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs. Call with ignore-not-found=true to ignore missing ones.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the controller with image IMG to the cluster in ~/.kube/config.
	{ $(kustomize-build-image); } | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the controller. Call with ignore-not-found=true to ignore missing resources.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen into bin/.
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint into bin/.
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Build kustomize into bin/.
$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

# go-install-tool installs package $(2) at version $(3) as file $(1).
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Installing $${package}" ;\
rm -f $(1) ;\
GOBIN=$(LOCALBIN) GOTOOLCHAIN=local go install $${package} ;\
mv "$$(echo "$(1)" | sed "s/-$(3)$$//")" $(1) ;\
}
endef
