variable "name" {
  description = "Namespace name (DNS-1123 label)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be a DNS-1123 label of at most 63 characters."
  }
}

variable "labels" {
  description = "Labels added to the namespace next to the Pod Security Standards labels."
  type        = map(string)
  default     = {}
}

variable "pss_level" {
  description = "Pod Security Standards level enforced, audited and warned on in the namespace."
  type        = string
  default     = "restricted"

  validation {
    condition     = contains(["restricted", "baseline"], var.pss_level)
    error_message = "pss_level must be restricted or baseline; privileged namespaces are not offered."
  }
}

variable "quota_requests_cpu" {
  description = "ResourceQuota: total CPU requests of all pods in the namespace (e.g. 2000m)."
  type        = string
}

variable "quota_limits_cpu" {
  description = "ResourceQuota: total CPU limits of all pods in the namespace."
  type        = string
}

variable "quota_requests_memory" {
  description = "ResourceQuota: total memory requests of all pods in the namespace (e.g. 2Gi)."
  type        = string
}

variable "quota_limits_memory" {
  description = "ResourceQuota: total memory limits of all pods in the namespace."
  type        = string
}

variable "quota_pods" {
  description = "ResourceQuota: maximum number of pods in the namespace."
  type        = number

  validation {
    condition     = var.quota_pods >= 1 && var.quota_pods <= 5000 && floor(var.quota_pods) == var.quota_pods
    error_message = "quota_pods must be a whole number between 1 and 5000."
  }
}

variable "default_request_cpu" {
  description = "LimitRange: CPU request given to a container that sets none."
  type        = string
}

variable "default_request_memory" {
  description = "LimitRange: memory request given to a container that sets none."
  type        = string
}

variable "default_limit_cpu" {
  description = "LimitRange: CPU limit given to a container that sets none."
  type        = string
}

variable "default_limit_memory" {
  description = "LimitRange: memory limit given to a container that sets none."
  type        = string
}
