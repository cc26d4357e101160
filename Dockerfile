# Builds the manager image. The build line matches `make build`, and the
# tests in controllers/deploy build the binary they run from this line.
# NOTE: No Docker engine runs on the project's development and CI machines,
# so this file is not built there: `make docker-build` needs a machine with
# one.
FROM golang:1.26 AS builder
WORKDIR /workspace

# Download modules in their own layer, which source changes do not rebuild.
COPY go.mod go.sum ./
RUN go mod download

COPY main.go main.go
COPY api/ api/
COPY controllers/ controllers/

RUN CGO_ENABLED=0 go build -trimpath -o manager .

# distroless/static has no shell or package manager, and its nonroot user is
# 65532. A numeric USER lets the kubelet verify runAsNonRoot.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
