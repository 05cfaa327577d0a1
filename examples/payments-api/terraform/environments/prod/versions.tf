# State of prod lives remotely, one state per environment, locked
# (see ../../README.md for the backend choice).
terraform {
  required_version = ">= 1.11"

  backend "s3" {
    bucket       = "platform-terraform-state"
    key          = "payments-api/prod/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
