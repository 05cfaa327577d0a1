variable "name" {
  description = "Registry name: 5-50 alphanumeric characters, globally unique."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9]{5,50}$", var.name))
    error_message = "name must be 5-50 alphanumeric characters."
  }
}

variable "resource_group_name" {
  description = "Resource group that holds the registry."
  type        = string
}

variable "location" {
  description = "Azure region of the registry."
  type        = string
}

variable "replica_location" {
  description = "Second region the registry geo-replicates to."
  type        = string
}

variable "retention_days" {
  description = "Days untagged manifests are kept before they are purged."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 0 && var.retention_days <= 365
    error_message = "retention_days must be between 0 and 365."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
