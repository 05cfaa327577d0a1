variable "service_name" {
  description = "Service name; names the registry and identities."
  type        = string
}

variable "environment" {
  description = "Environment this root module manages."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the service in this environment (created by GitOps, not here)."
  type        = string
}

variable "project_id" {
  description = "Google Cloud project of the cluster and registry."
  type        = string
}

variable "region" {
  description = "Google Cloud region of the registry."
  type        = string
}

variable "service_account" {
  description = "Kubernetes service account the workload runs as."
  type        = string
}

variable "identity_name" {
  description = "Name of the cloud identity the service account maps to."
  type        = string
}

variable "create_registry" {
  description = "Whether this environment owns the image registry (production only)."
  type        = bool
}

variable "registry_name" {
  description = "Image registry (repository) name."
  type        = string
}
