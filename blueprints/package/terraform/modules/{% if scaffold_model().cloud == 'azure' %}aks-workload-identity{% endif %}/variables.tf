variable "name" {
  description = "Name of the user-assigned managed identity."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$", var.name))
    error_message = "name must be 3-128 letters, digits, hyphens or underscores."
  }
}

variable "resource_group_name" {
  description = "Resource group of the identity (and of the AKS cluster)."
  type        = string
}

variable "location" {
  description = "Azure region of the identity."
  type        = string
}

variable "cluster_name" {
  description = "AKS cluster whose OIDC issuer the federated credential trusts."
  type        = string
}

variable "namespace" {
  description = "Namespace of the Kubernetes service account that federates with the identity."
  type        = string
}

variable "service_account" {
  description = "Name of the Kubernetes service account that federates with the identity."
  type        = string
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
