variable "project_id" {
  description = "Google Cloud project that holds the repository."
  type        = string
}

variable "location" {
  description = "Region of the repository (e.g. europe-west1)."
  type        = string
}

variable "repository_id" {
  description = "Repository id (the service name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "repository_id must start with a letter and hold only lowercase letters, digits and hyphens."
  }
}

variable "keep_count" {
  description = "How many most recent versions the cleanup policy keeps."
  type        = number
  default     = 200

  validation {
    condition     = var.keep_count >= 10 && var.keep_count <= 10000
    error_message = "keep_count must be between 10 and 10000."
  }
}

variable "labels" {
  description = "Labels for every resource of the module."
  type        = map(string)
  default     = {}
}
