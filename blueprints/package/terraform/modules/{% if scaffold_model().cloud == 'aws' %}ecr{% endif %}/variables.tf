variable "name" {
  description = "Repository name (the service name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$", var.name)) && length(var.name) <= 256
    error_message = "name must be a lowercase ECR repository name."
  }
}

variable "max_image_count" {
  description = "How many untagged images the lifecycle policy keeps; tagged images never expire."
  type        = number
  default     = 200

  validation {
    condition     = var.max_image_count >= 10 && var.max_image_count <= 10000
    error_message = "max_image_count must be between 10 and 10000."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the repository's KMS key is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30 (AWS limits)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
