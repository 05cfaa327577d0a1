# State of prod lives remotely, one state per environment, locked
# (see ../../README.md for the backend choice).
terraform {
  required_version = ">= 1.11"

  backend "gcs" {
    bucket = "platform-terraform-state"
    prefix = "ledger-worker/prod"
  }

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}
