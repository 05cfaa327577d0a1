# A namespace that enforces what the blueprint promises: Pod Security Standards
# (restricted by default), a quota sized for the HPA ceiling, and container defaults.
locals {
  pss_labels = {
    "pod-security.kubernetes.io/enforce"         = var.pss_level
    "pod-security.kubernetes.io/enforce-version" = "latest"
    "pod-security.kubernetes.io/audit"           = var.pss_level
    "pod-security.kubernetes.io/warn"            = var.pss_level
  }
}

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name   = var.name
    labels = merge(var.labels, local.pss_labels)
  }
}

resource "kubernetes_resource_quota_v1" "this" {
  metadata {
    name      = "${var.name}-quota"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }

  spec {
    hard = {
      "requests.cpu"    = var.quota_requests_cpu
      "limits.cpu"      = var.quota_limits_cpu
      "requests.memory" = var.quota_requests_memory
      "limits.memory"   = var.quota_limits_memory
      "pods"            = var.quota_pods
    }
  }
}

resource "kubernetes_limit_range_v1" "this" {
  metadata {
    name      = "${var.name}-limits"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }

  spec {
    limit {
      type = "Container"
      default_request = {
        cpu    = var.default_request_cpu
        memory = var.default_request_memory
      }
      default = {
        cpu    = var.default_limit_cpu
        memory = var.default_limit_memory
      }
    }
  }
}
