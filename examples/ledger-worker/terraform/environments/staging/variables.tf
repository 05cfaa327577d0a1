variable "service_name" {
  description = "Service name; names the registry and identities."
  type        = string
}

variable "environment" {
  description = "Environment this root module manages."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the service in this environment."
  type        = string
}

variable "kube_context" {
  description = "kubeconfig context of this environment's cluster."
  type        = string
}

variable "labels" {
  description = "Labels for the namespace (the blueprint's app.kubernetes.io set)."
  type        = map(string)
}

variable "quota_requests_cpu" {
  description = "ResourceQuota total CPU requests."
  type        = string
}

variable "quota_limits_cpu" {
  description = "ResourceQuota total CPU limits."
  type        = string
}

variable "quota_requests_memory" {
  description = "ResourceQuota total memory requests."
  type        = string
}

variable "quota_limits_memory" {
  description = "ResourceQuota total memory limits."
  type        = string
}

variable "quota_pods" {
  description = "ResourceQuota pod count."
  type        = number
}

variable "default_request_cpu" {
  description = "LimitRange default CPU request."
  type        = string
}

variable "default_request_memory" {
  description = "LimitRange default memory request."
  type        = string
}

variable "default_limit_cpu" {
  description = "LimitRange default CPU limit."
  type        = string
}

variable "default_limit_memory" {
  description = "LimitRange default memory limit."
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

variable "kubeconfig_path" {
  description = "Path of the kubeconfig the kubernetes provider reads."
  type        = string
  default     = "~/.kube/config"
}
