variable "project_id" {
  description = "Google Cloud project of the GKE cluster (its workload pool is <project_id>.svc.id.goog)."
  type        = string
}

variable "account_id" {
  description = "Google service account id (6-30 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{4,28}[a-z0-9])$", var.account_id))
    error_message = "account_id must be 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "namespace" {
  description = "Namespace of the Kubernetes service account that impersonates the Google service account."
  type        = string
}

variable "service_account" {
  description = "Name of the Kubernetes service account that impersonates the Google service account."
  type        = string
}
